"""Importing a clinic's licensed item wording from a FHIR Questionnaire.

Only wording changes: the item structure must match the shipped definition exactly, so the scoring rules
(keyed by linkId) keep meaning what they meant.
"""

import copy
import json
from pathlib import Path
from typing import Any

from django.db import transaction
from pydantic import ValidationError

from tandem.audit.services import audit_record
from tandem.measures.fhir import Questionnaire
from tandem.measures.models import Instrument


class ImportRefused(ValueError):
    """The file cannot be imported; the message says why."""


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ImportRefused(f"cannot read the file: {exc.strerror}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImportRefused(f"not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("resourceType") != "Questionnaire":
        raise ImportRefused("not a FHIR Questionnaire (resourceType must be 'Questionnaire')")
    try:
        Questionnaire.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ImportRefused(f"not a valid FHIR Questionnaire: {where}: {first['msg']}") from exc
    return data


def _keys(questionnaire: dict[str, Any]) -> set[str]:
    """Every way the file may name its instrument: canonical url, identifier values, codes, name."""
    keys = {questionnaire.get("url"), questionnaire.get("name")}
    keys.update(ident.get("value") for ident in questionnaire.get("identifier", []))
    keys.update(coding.get("code") for coding in questionnaire.get("code", []))
    return {str(key) for key in keys if key}


def _match(data: dict[str, Any]) -> Instrument:
    wanted = _keys(data)
    matches = [i for i in Instrument.objects.all() if wanted & _keys(i.definition["questionnaire"])]
    if not matches:
        raise ImportRefused("no instrument in the library matches its url, identifier, code or name")
    if len(matches) > 1:
        raise ImportRefused(f"matches several instruments ({', '.join(i.code for i in matches)})")
    return matches[0]


def _flatten(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    flat = []
    for item in items:
        flat.append(item)
        flat.extend(_flatten(item.get("item", [])))
    return flat


def _shape(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(item["linkId"], item["type"]) for item in _flatten(items)]


def _check_structure(instrument: Instrument, data: dict[str, Any]) -> None:
    ours = _shape(instrument.definition["questionnaire"]["item"])
    theirs = _shape(data.get("item", []))
    if len(theirs) != len(ours):
        raise ImportRefused(f"{instrument.code} has {len(ours)} items, the file has {len(theirs)}")
    for (link_id, kind), (their_id, their_kind) in zip(ours, theirs, strict=True):
        if (link_id, kind) != (their_id, their_kind):
            raise ImportRefused(
                f"item structure differs from {instrument.code}: expected linkId {link_id!r} ({kind}),"
                f" found {their_id!r} ({their_kind})"
            )
    missing_text = [item["linkId"] for item in _flatten(data["item"]) if not item.get("text")]
    if missing_text:
        raise ImportRefused(f"item {missing_text[0]} has no text")


def _with_wording(definition: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    updated = copy.deepcopy(definition)
    texts = {item["linkId"]: item["text"] for item in _flatten(data["item"])}
    for item in _flatten(updated["questionnaire"]["item"]):
        item["text"] = texts[item["linkId"]]
    return updated


def import_questionnaire(path: Path, *, actor: Any = None) -> Instrument:
    data = _read(path)
    with transaction.atomic():
        instrument = _match(data)
        instrument = Instrument.objects.select_for_update().get(pk=instrument.pk)
        _check_structure(instrument, data)
        instrument.definition = _with_wording(instrument.definition, data)
        instrument.has_licensed_wording = True
        instrument.save(update_fields=["definition", "has_licensed_wording", "updated_at"])
        audit_record(
            actor=actor or "manage.py import_questionnaire",
            action="measures.wording_imported",
            target=instrument,
            detail={"code": instrument.code, "version": instrument.version, "file": path.name},
        )
    return instrument
