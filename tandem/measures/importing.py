"""Importing a clinic's licensed item wording from a FHIR Questionnaire.

Only wording changes: the item structure must match the shipped definition exactly, so the scoring rules
(keyed by linkId) keep meaning what they meant. Answer labels come with the wording when the file has
them: several published forms score an answer against the way its question reads (IIEF-5 item 4 scores
"extremely difficult" 1, the FSFI pain items score "almost always" 1), so licensed question text beside
bare numbers would invite reversed answers. The file's answers must score exactly the values ours do;
only their labels are taken.
"""

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import transaction
from pydantic import ValidationError

from tandem.audit.services import audit_record
from tandem.measures.fhir import Questionnaire
from tandem.measures.forms import ORDINAL, option_label, option_value
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
    our_items = _flatten(instrument.definition["questionnaire"]["item"])
    for our_item, their_item in zip(our_items, _flatten(data["item"]), strict=True):
        _answer_labels(our_item, their_item)


def _scored_values(item: dict[str, Any]) -> list[int]:
    values = []
    for option in item.get("answerOption", []):
        try:
            value = option_value(option)
            # option_value truncates an ordinal of 1.5 to 1; a file must not score answers that way.
            ordinals = [e.get("valueDecimal") for e in option.get("extension", []) if e.get("url") == ORDINAL]
            whole = all(Decimal(str(ordinal)) == value for ordinal in ordinals)
        except (KeyError, TypeError, ValueError, ArithmeticError):
            whole = False
        if not whole:
            raise ImportRefused(f"item {item['linkId']}: an answer has no whole-number score")
        values.append(value)
    return values


def _answer_labels(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[int, str]:
    """The file's label for each of our scored answers; refused unless it scores exactly the same answers.

    Labels are matched by scored value, not position, since published forms list some answers from the
    highest score down (the CSI's semantic-differential items). An unlabelled answer keeps our label.
    """
    if not theirs.get("answerOption"):
        return {}
    expected, found = _scored_values(ours), _scored_values(theirs)
    if sorted(found) != sorted(expected) or len(set(found)) != len(found):
        raise ImportRefused(
            f"item {ours['linkId']}: the file's answers score {found}, the published key {expected}"
        )
    return {
        option_value(option): option_label(option)
        for option in theirs["answerOption"]
        if option.get("valueCoding", {}).get("display")
    }


def _with_wording(definition: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    updated = copy.deepcopy(definition)
    theirs = {item["linkId"]: item for item in _flatten(data["item"])}
    for item in _flatten(updated["questionnaire"]["item"]):
        item["text"] = theirs[item["linkId"]]["text"]
        labels = _answer_labels(item, theirs[item["linkId"]])
        for option in item.get("answerOption", []):
            option["valueCoding"]["display"] = labels.get(option_value(option), option_label(option))
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
