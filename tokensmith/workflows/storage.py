"""A tenant's definitions as rows: import (all or nothing, replacing by identifier) and listing.

A room of its own because it is where a checked `Definition` meets the database: the stored shape of
parameters and steps is written and read back here and nowhere else, so the checks (definitions.py)
stay pure and a run (runs.py) reads a definition without knowing how it is kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tokensmith import audit, listing
from tokensmith.core import Core
from tokensmith.errors import Conflict, InvalidValue, NotFound
from tokensmith.models import Tenant, WorkflowDefinition
from tokensmith.tenants import parse_external_id
from tokensmith.workflows.definitions import Definition, Step, check_definition
from tokensmith.workflows.variables import Constraint, Parameter

DEFINITION_COLUMNS = {
    "identifier": WorkflowDefinition.identifier,
    "name": WorkflowDefinition.name,
    "description": WorkflowDefinition.description,
}


def stored_parameters(parameters: Iterable[Parameter]) -> dict[str, Any]:
    """The JSON a definition row keeps its parameters in (read back by `definition_of`)."""
    return {
        "parameters": [
            {
                "name": p.name,
                "data_type": p.data_type,
                "required": p.required,
                "constraints": [
                    {"kind": c.kind, "value": c.value, "message": c.message} for c in p.constraints
                ],
            }
            for p in parameters
        ]
    }


def stored_steps(steps: Iterable[Step]) -> list[dict[str, Any]]:
    """The JSON a definition row keeps its steps in (read back by `definition_of`)."""
    return [{"id": s.id, "name": s.name, "kind": s.kind, "config": s.config} for s in steps]


def definition_of(row: WorkflowDefinition) -> Definition:
    parameters = tuple(
        Parameter(
            name=p["name"],
            data_type=p["data_type"],
            required=p["required"],
            constraints=tuple(Constraint(c["kind"], c["value"], c["message"]) for c in p["constraints"]),
        )
        for p in (row.input_parameters or {}).get("parameters", [])
    )
    return Definition(row.identifier, row.name, row.description, parameters, steps_of(row.steps))


def steps_of(stored: list[dict[str, Any]] | None) -> tuple[Step, ...]:
    """Steps back from the JSON `stored_steps` made (a definition's, or a run's copy of them)."""
    return tuple(Step(s["id"], s["name"], s["kind"], s["config"]) for s in stored or [])


def _tenant_id(session: Any, external_id: str) -> int:
    tenant_id = session.scalar(select(Tenant.id).where(Tenant.external_id == parse_external_id(external_id)))
    if tenant_id is None:
        raise NotFound("No tenant has this external id.")
    return tenant_id


def import_definitions(
    core: Core, tenant_external_id: str, definitions: list[Definition], actor: str | None = None
) -> list[Definition]:
    """Add or replace (by identifier) a tenant's definitions, all or nothing. Runs keep their history."""
    checked = [check_definition(definition) for definition in definitions]
    identifiers = [definition.identifier for definition in checked]
    if not checked:
        raise InvalidValue("definition", "The document holds no workflow definitions.")
    if len(set(identifiers)) != len(identifiers):
        raise InvalidValue("definition", "Each workflow identifier may appear only once per document.")
    now = core.clock.now()
    try:
        with core.db.write() as session:
            tenant_id = _tenant_id(session, tenant_external_id)
            existing = {
                row.identifier: row
                for row in session.scalars(
                    select(WorkflowDefinition).where(
                        WorkflowDefinition.tenant_id == tenant_id,
                        WorkflowDefinition.identifier.in_(identifiers),
                    )
                )
            }
            for definition in checked:
                row = existing.get(definition.identifier)
                if row is None:
                    row = WorkflowDefinition(
                        tenant_id=tenant_id, identifier=definition.identifier, created_at=now
                    )
                    session.add(row)
                row.name = definition.name
                row.description = definition.description
                row.input_parameters = stored_parameters(definition.parameters)
                row.steps = stored_steps(definition.steps)
            audit.record(
                session,
                now,
                "workflow.import",
                actor=actor,
                target=f"tenant:{tenant_id}",
                identifiers=identifiers,
            )
    except IntegrityError as exc:  # a concurrent import added one of these identifiers first
        raise Conflict("Another import of these workflows ran at the same time; try again.") from exc
    return checked


def list_definitions(core: Core, tenant_id: int, query: listing.Listing) -> list[Definition]:
    with core.db.read() as session:
        statement = select(WorkflowDefinition).where(WorkflowDefinition.tenant_id == tenant_id)
        statement = listing.apply(statement, query, DEFINITION_COLUMNS, WorkflowDefinition.id)
        return [definition_of(row) for row in session.scalars(statement)]
