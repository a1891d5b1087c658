"""FHIR: the model the definitions are checked against, and the export of responses and scores.

fhir.resources 8 ships R5 at its top level plus R4B and STU3 packages, and no plain R4 (4.0.1) one. R4B
(4.3.0) kept R4's Questionnaire, QuestionnaireResponse and Observation unchanged in every element used
here, so R4B stands in for R4.

References default to relative ids ("Patient/<client id>", "QuestionnaireResponse/measure-response-<id>");
a bundle export that names its resources otherwise passes its own references in.
"""

from typing import Any

from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from tandem.measures.forms import option_label, option_value
from tandem.measures.models import Response

__all__ = ["Questionnaire", "response_to_fhir", "score_observations"]

LOINC = "http://loinc.org"
LOCAL_SCORES = "https://tandem.invalid/fhir/CodeSystem/measure-score"
LOCAL_BANDS = "https://tandem.invalid/fhir/CodeSystem/measure-band"
RESPONSE_IDS = "https://tandem.invalid/fhir/measure-response"
ORDINAL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"


def response_id(response: Response) -> str:
    return f"measure-response-{response.pk}"


def _subject(response: Response, subject_reference: str | None) -> dict[str, str]:
    return {"reference": subject_reference or f"Patient/{response.client_id}"}


def _answer(item: dict[str, Any], value: int) -> dict[str, Any]:
    coding: dict[str, Any] = {"code": str(value)}
    for option in item.get("answerOption", []):
        if option_value(option) == value:
            coding = {**option["valueCoding"]}
            if option_label(option):
                coding["display"] = option_label(option)
            break
    coding["extension"] = [{"url": ORDINAL, "valueDecimal": value}]
    return {"valueCoding": coding}


def response_to_fhir(
    response: Response, *, subject_reference: str | None = None, author_reference: str | None = None
) -> QuestionnaireResponse:
    """One stored response as a QuestionnaireResponse (an unanswered item has no answer)."""
    definition = response.instrument.definition
    questionnaire = definition["questionnaire"]
    subject = _subject(response, subject_reference)
    entered_by_client = (
        response.entered_by_id is not None and response.entered_by_id == response.client.user_id
    )
    if author_reference is not None:
        author = {"reference": author_reference}
    elif entered_by_client or response.entered_by_id is None:
        author = subject
    else:
        author = {"reference": f"Practitioner/{response.entered_by_id}"}
    items = []
    for item in questionnaire["item"]:
        if item.get("type") == "display":
            continue
        entry: dict[str, Any] = {"linkId": item["linkId"], "text": item.get("text", "")}
        value = response.answers.get(item["linkId"])
        if value is not None:
            entry["answer"] = [_answer(item, value)]
        items.append(entry)
    return QuestionnaireResponse.model_validate(
        {
            "resourceType": "QuestionnaireResponse",
            "id": response_id(response),
            "identifier": {"system": RESPONSE_IDS, "value": str(response.pk)},
            "questionnaire": f"{questionnaire['url']}|{response.instrument_version}",
            "status": "completed",
            "subject": subject,
            "authored": response.answered_at.isoformat(),
            "author": author,
            "source": subject,
            "item": items,
        }
    )


def _local_code(code: str, part: str, display: str) -> dict[str, Any]:
    return {"system": LOCAL_SCORES, "code": f"{code}.{part}", "display": display}


def _observation(
    response: Response,
    *,
    part: str,
    coding: list[dict[str, Any]],
    text: str,
    value: Any,
    subject: dict[str, str],
    derived_from: str,
    band: str = "",
) -> Observation:
    data: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"{response_id(response)}-{part}",
        "status": "final",
        "category": [{"coding": [{"system": CATEGORY, "code": "survey", "display": "Survey"}]}],
        "code": {"coding": coding, "text": text},
        "subject": subject,
        "effectiveDateTime": response.answered_at.isoformat(),
        "valueQuantity": {
            "value": value,
            "unit": "{score}",
            "system": "http://unitsofmeasure.org",
            "code": "{score}",
        },
        "derivedFrom": [{"reference": derived_from}],
    }
    if band:
        data["interpretation"] = [
            {
                "coding": [{"system": LOCAL_BANDS, "code": f"{response.instrument.code}.{band}"}],
                "text": band.replace("_", " "),
            }
        ]
    return Observation.model_validate(data)


def score_observations(
    response: Response, *, subject_reference: str | None = None, response_reference: str | None = None
) -> list[Observation]:
    """The total (LOINC where the definition names a code, else the local code system) and each domain.

    A total or domain left unscored (missing items) has no Observation.
    """
    definition = response.instrument.definition
    code = response.instrument.code
    subject = _subject(response, subject_reference)
    derived_from = response_reference or f"QuestionnaireResponse/{response_id(response)}"
    observations = []
    if response.total is not None:
        title = f"{response.instrument.title} total score"
        loinc = (definition.get("loinc") or {}).get("total")
        coding = [{"system": LOINC, "code": loinc, "display": title}] if loinc else []
        coding.append(_local_code(code, "total", title))
        observations.append(
            _observation(
                response,
                part="total",
                coding=coding,
                text=title,
                value=response.total,
                subject=subject,
                derived_from=derived_from,
                band=response.band,
            )
        )
    for name, value in response.domains.items():
        if value is None:
            continue
        title = f"{response.instrument.title} {name} domain score"
        observations.append(
            _observation(
                response,
                part=name,
                coding=[_local_code(code, name, title)],
                text=title,
                value=value,
                subject=subject,
                derived_from=derived_from,
            )
        )
    return observations
