"""`tokensmith seed FILE`: the testing API's seed document, as YAML (or JSON), into the database.

A face like `tokensmith/cli.py`: it reads the document with the handlers' reader, which knows the
gateway's workflow documents and tenant token format. It needs no server and no testing mode, but a
database (migrated here when it is behind).
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import yaml

from tokensmith.errors import TokensmithError


@click.command("seed")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def seed(file: Path) -> None:
    """Create the users, tenants, tokens and workflow definitions of FILE; print the ids created (JSON)."""
    from handlers import testing_seed
    from tokensmith.cli import open_core

    try:
        document = yaml.safe_load(file.read_text())
    except yaml.YAMLError as exc:
        raise click.ClickException(f"{file}: not YAML or JSON ({exc})") from None
    core = open_core(migrated=False)
    try:
        core.db.upgrade()
        click.echo(json.dumps(testing_seed.seed(core, document), indent=2))
    except TokensmithError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        core.db.dispose()
