"""`tokensmith tenant …`: the gateway dialect's tenants from the command line.

It reads the gateway's workflow document format, so it lives beside that format, and `tokensmith.cli`
adds it to the `tokensmith` command. `tokensmith tenant workflows import <tenantExternalId> <file>`
loads workflow definitions from a JSON or YAML file into one tenant, all or nothing, replacing
definitions with the same identifier.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import yaml

from handlers.gateway import wire
from tokensmith import workflows
from tokensmith.errors import TokensmithError

MAX_DOCUMENT_BYTES = 4 * 1024 * 1024


def load_document(path: Path) -> Any:
    """JSON when the file says so by its name, else YAML (which also reads JSON)."""
    if path.stat().st_size > MAX_DOCUMENT_BYTES:
        raise click.ClickException(f"{path} is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{path} is not UTF-8 text.") from exc
    try:
        return json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "YAML"
        raise click.ClickException(f"{path} is not valid {kind}: {exc}") from exc


@click.group()
def tenant() -> None:
    """Tenants of the gateway dialect (ServiceAide Luma)."""


@tenant.group("workflows")
def tenant_workflows() -> None:
    """A tenant's workflow definitions."""


@tenant_workflows.command("import")
@click.argument("tenant_external_id")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def workflows_import(tenant_external_id: str, file: Path) -> None:
    """Import the workflow definitions in FILE (JSON or YAML) into the tenant TENANT_EXTERNAL_ID."""
    from tokensmith.cli import open_core  # here: tokensmith.cli imports this module to add `tenant`

    document = load_document(file)
    core = open_core()
    try:
        imported = workflows.import_definitions(
            core, tenant_external_id, wire.definitions_from_document(document), actor="cli"
        )
    except TokensmithError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        core.db.dispose()
    names = ", ".join(definition.identifier for definition in imported)
    noun = "definition" if len(imported) == 1 else "definitions"
    click.echo(f"Imported {len(imported)} workflow {noun} into tenant {tenant_external_id}: {names}")
