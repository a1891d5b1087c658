"""FHIR R4 mapping of the measures data: a stored response as a QuestionnaireResponse, its scores as
Observations. The record export (consents/record_export.py) builds its Bundle from these; nothing else maps
questionnaire data to FHIR.

Answers are coded exactly as the instrument's Questionnaire declares its answerOptions, so a recipient can
match each answer to its option. The total carries its LOINC code where LOINC has one (the definition's
`loinc.total`: PHQ-9 44261-6, GAD-7 70274-6), then the local code; domains and every other total only the
local code. Local code systems and identifier systems hang off the practice's FHIR_IDENTIFIER_SYSTEM.

The mapping returns plain JSON-ready dicts; callers validate (the export validates its whole Bundle).
References default to relative ids ("Patient/<client id>"); a bundle passes its own references in.
"""

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings

from tandem.measures.forms import ORDINAL, option_value
from tandem.measures.models import Response

if TYPE_CHECKING:
    from fhir.resources.R4B.questionnaire import Questionnaire

    from tandem.accounts.models import User

__all__ = ["Questionnaire", "response_author", "response_to_fhir", "score_observations"]

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"

Reference = dict[str, str]


def __getattr__(name: str) -> Any:
    # The FHIR model stays behind a lazy import: loading URLs (which import the export) should not pay
    # for the models; the definition checks and the import command ask for it by name.
    if name == "Questionnaire":
        from fhir.resources.R4B.questionnaire import Questionnaire

        return Questionnaire
    raise AttributeError(name)


def local_system(name: str) -> str:
    """A code or identifier system of this practice, read at call time (tests override the setting)."""
    return f"{settings.FHIR_IDENTIFIER_SYSTEM}/{name}"


def instant(value: dt.datetime) -> str:
    """A FHIR instant in UTC to the second (the Bundle's form for every timestamp)."""
    return value.astimezone(dt.UTC).isoformat(timespec="seconds")


def response_id(response: Response) -> str:
    return f"measure-response-{response.pk}"


def response_author(response: Response) -> "User | None":
    """The staff member who entered the answers, or None when the client answered (or nobody is known)."""
    entered_by = response.entered_by
    if entered_by is None or response.entered_by_id == response.client.user_id:
        return None
    return entered_by


def _number(value: Any) -> int | float:
    """A score as a JSON number: whole scores as integers, the others as the shortest exact decimal."""
    exact = Decimal(str(value))
    return int(exact) if exact == exact.to_integral_value() else float(exact)


def _answer(item: dict[str, Any], value: int) -> dict[str, Any]:
    for option in item.get("answerOption", []):
        if option_value(option) == value:
            # The option's own coding (code, and system and display where it declares them), plus the
            # value it scores, so that a recipient can recompute totals without the scoring rules.
            coding = {**option["valueCoding"], "extension": [{"url": ORDINAL, "valueDecimal": value}]}
            return {"valueCoding": coding}
    # The engine stores only values within an item's range, so this is a broken definition, never input:
    # an export must not invent a code the Questionnaire does not declare.
    raise ValueError(f"Item {item['linkId']} of the questionnaire declares no answer scored {value}.")


def _items(response: Response) -> tuple[list[dict[str, Any]], bool]:
    """The answered and unanswered items in the Questionnaire's order, and whether a required one is
    unanswered."""
    items, required_missing = [], False
    for item in response.instrument.definition["questionnaire"]["item"]:
        if item.get("type") == "display":
            continue
        entry: dict[str, Any] = {"linkId": item["linkId"]}
        if item.get("text"):
            entry["text"] = item["text"]
        value = response.answers.get(item["linkId"])
        if value is None:
            required_missing = required_missing or bool(item.get("required"))
        else:
            entry["answer"] = [_answer(item, value)]
        items.append(entry)
    return items, required_missing


def response_to_fhir(
    response: Response, *, subject: Reference | None = None, author: Reference | None = None
) -> dict[str, Any]:
    """One stored response as a QuestionnaireResponse (an unanswered item has no answer).

    `author` is the reference of `response_author(response)` when that is a staff member; without it the
    author is the practitioner by relative id, or the client when they answered themselves.
    """
    questionnaire = response.instrument.definition["questionnaire"]
    subject = subject or {"reference": f"Patient/{response.client_id}"}
    if author is None:
        staff = response_author(response)
        author = {"reference": f"Practitioner/{staff.pk}"} if staff is not None else subject
    items, required_missing = _items(response)
    return {
        "resourceType": "QuestionnaireResponse",
        "id": response_id(response),
        "identifier": {"system": local_system("measure-response"), "value": str(response.pk)},
        "questionnaire": f"{questionnaire['url']}|{response.instrument_version}",
        # A response that left a required item unanswered was ended short of complete ("stopped");
        # "in-progress" would promise answers that are never coming.
        "status": "stopped" if required_missing else "completed",
        "subject": subject,
        "authored": instant(response.answered_at),
        "author": author,
        # The client always answers the questions; staff at most type in a paper form.
        "source": subject,
        "item": items,
    }


def _score_code(response: Response, part: str, title: str) -> dict[str, Any]:
    coding = []
    loinc = (response.instrument.definition.get("loinc") or {}).get(part)
    if loinc:
        coding.append({"system": LOINC, "code": loinc, "display": title})
    code = f"{response.instrument.code}.{part}"
    coding.append({"system": local_system("CodeSystem/measure-score"), "code": code, "display": title})
    return {"coding": coding, "text": title}


def _observation(
    response: Response, *, part: str, title: str, value: Any, subject: Reference, derived_from: Reference
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"{response_id(response)}-{part}",
        "status": "final",
        "category": [{"coding": [{"system": CATEGORY, "code": "survey", "display": "Survey"}]}],
        "code": _score_code(response, part, title),
        "subject": subject,
        "effectiveDateTime": instant(response.answered_at),
        "valueQuantity": {"value": _number(value), "unit": "score", "system": UCUM, "code": "{score}"},
        "derivedFrom": [derived_from],
    }


def score_observations(
    response: Response, *, subject: Reference | None = None, derived_from: Reference | None = None
) -> list[dict[str, Any]]:
    """The total and then each domain, as Observations derived from the response; a total or domain left
    unscored (missing items) has no Observation. The total's band is its interpretation."""
    subject = subject or {"reference": f"Patient/{response.client_id}"}
    derived_from = derived_from or {"reference": f"QuestionnaireResponse/{response_id(response)}"}
    instrument = response.instrument
    observations = []
    if response.total is not None:
        total = _observation(
            response,
            part="total",
            title=f"{instrument.title} total score",
            value=response.total,
            subject=subject,
            derived_from=derived_from,
        )
        if response.band:
            band = {
                "system": local_system("CodeSystem/measure-band"),
                "code": f"{instrument.code}.{response.band}",
            }
            total["interpretation"] = [{"coding": [band], "text": response.band.replace("_", " ")}]
        observations.append(total)
    for name, value in response.domains.items():
        if value is not None:
            observations.append(
                _observation(
                    response,
                    part=name,
                    title=f"{instrument.title} {name} domain score",
                    value=value,
                    subject=subject,
                    derived_from=derived_from,
                )
            )
    return observations
