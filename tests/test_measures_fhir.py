# The R4B models type every repeating element as "list | None"; the tests index what they just built.
# mypy: disable-error-code="index"
"""The one FHIR mapping of measures data: responses as QuestionnaireResponse, scores as Observation, each
checked against the official R4 JSON schema and parsed with the R4B models."""

from decimal import Decimal
from typing import Any

import pytest
from django.test import override_settings
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from tandem.measures.fhir import local_system, response_to_fhir, score_observations
from tandem.measures.loader import load_instruments
from tests.fhir_schema import schema_errors
from tests.measures_support import PHQ9_CALM, csi16, record

MODELS: dict[str, Any] = {"QuestionnaireResponse": QuestionnaireResponse, "Observation": Observation}


@pytest.fixture
def library(db):
    load_instruments()


def roundtrip(data: dict[str, Any]) -> Any:
    """Valid under the R4 schema, then parsed with the R4B model, serialized and parsed again."""
    assert schema_errors(data) == []
    model = MODELS[data["resourceType"]]
    return model.model_validate_json(model.model_validate(data).model_dump_json())


def test_phq9_response_and_total_with_loinc(cast, library):
    case = cast.couple_case
    response = record(cast.therapist_a, case, case.partner_a, "PHQ9", {**PHQ9_CALM, "1": 3, "2": 2, "9": 1})
    qr = roundtrip(response_to_fhir(response))
    assert isinstance(qr, QuestionnaireResponse)
    assert qr.status == "completed"
    assert qr.questionnaire == "https://tandem.invalid/fhir/Questionnaire/PHQ9|1.0"
    assert qr.subject.reference == f"Patient/{case.partner_a_id}"
    assert qr.author.reference == f"Practitioner/{cast.therapist_a.pk}"
    assert [i.linkId for i in qr.item] == [str(n) for n in range(1, 10)]
    first = qr.item[0].answer[0].valueCoding
    assert first.code == "3" and first.display == "Nearly every day"
    assert first.extension[0].valueDecimal == 3
    [total] = [roundtrip(o) for o in score_observations(response)]
    assert isinstance(total, Observation)
    assert total.status == "final"
    assert total.code.coding[0].system == "http://loinc.org" and total.code.coding[0].code == "44261-6"
    assert total.valueQuantity.value == Decimal(6)
    assert total.interpretation[0].text == "mild"
    assert total.derivedFrom[0].reference == f"QuestionnaireResponse/measure-response-{response.pk}"
    assert total.category[0].coding[0].code == "survey"


def test_every_answer_is_the_coding_its_questionnaire_declares(cast, library):
    case = cast.couple_case
    response = record(cast.therapist_a, case, case.partner_a, "PHQ9", {str(n): n % 4 for n in range(1, 10)})
    exported = response_to_fhir(response)
    questions = [i for i in response.instrument.definition["questionnaire"]["item"] if i["type"] != "display"]
    for question, item in zip(questions, exported["item"], strict=True):
        [answer] = item["answer"]
        assert set(answer) == {"valueCoding"}, "a coded answer, never a bare number"
        coding = {k: v for k, v in answer["valueCoding"].items() if k != "extension"}
        declared = [option["valueCoding"] for option in question["answerOption"]]
        assert coding in declared
        assert coding["code"] == str(response.answers[question["linkId"]])
        assert item["text"] == question["text"]


def test_gad7_total_loinc(cast, library):
    case = cast.couple_case
    response = record(cast.therapist_a, case, case.partner_b, "GAD7", {str(n): 1 for n in range(1, 8)})
    [total] = [roundtrip(o) for o in score_observations(response, subject={"reference": "urn:uuid:abc"})]
    assert total.code.coding[0].code == "70274-6"
    assert total.subject.reference == "urn:uuid:abc"


def test_csi16_uses_the_local_code_system_and_the_client_as_author(cast, library):
    case = cast.couple_case
    response = record(cast.partner_a, case, case.partner_a, "CSI16", csi16(60))
    qr = roundtrip(response_to_fhir(response))
    assert qr.author.reference == f"Patient/{case.partner_a_id}"
    [total] = [roundtrip(o) for o in score_observations(response)]
    local_scores = local_system("CodeSystem/measure-score")
    assert [(c.system, c.code) for c in total.code.coding] == [(local_scores, "CSI16.total")]
    assert total.valueQuantity.value == Decimal(60)


def test_fsfi_domains_and_missing_items(cast, library):
    case = cast.couple_case
    answers = {str(n): 4 for n in range(1, 20)}
    full = record(cast.therapist_a, case, case.partner_b, "FSFI", answers)
    observations = [roundtrip(o) for o in score_observations(full)]
    codes = [o.code.coding[-1].code for o in observations]
    assert codes == ["FSFI.total"] + [
        f"FSFI.{d}" for d in ("desire", "arousal", "lubrication", "orgasm", "satisfaction", "pain")
    ]
    assert observations[1].valueQuantity.value == Decimal("4.8")  # desire: (4 + 4) x 0.6
    answers["3"] = None
    partial = record(cast.therapist_a, case, case.partner_b, "FSFI", answers)
    qr = roundtrip(response_to_fhir(partial))
    assert qr.item[2].linkId == "3" and not qr.item[2].answer
    # A required item is unanswered: the response ended short of complete.
    assert qr.status == "stopped"
    # Neither the total nor the arousal domain is scored, so neither is exported.
    assert [roundtrip(o).code.coding[-1].code for o in score_observations(partial)] == [
        f"FSFI.{d}" for d in ("desire", "lubrication", "orgasm", "satisfaction", "pain")
    ]


def test_local_systems_follow_the_practice_setting(cast, library):
    case = cast.couple_case
    response = record(cast.therapist_a, case, case.partner_a, "CSI4", {"1": 3, "2": 3, "3": 3, "4": 3})
    with override_settings(FHIR_IDENTIFIER_SYSTEM="https://clinic.example.org/fhir"):
        qr = response_to_fhir(response)
        [total] = score_observations(response)
    assert qr["identifier"] == {
        "system": "https://clinic.example.org/fhir/measure-response",
        "value": str(response.pk),
    }
    assert total["code"]["coding"][0]["system"] == "https://clinic.example.org/fhir/CodeSystem/measure-score"
    assert total["interpretation"][0]["coding"][0]["system"] == (
        "https://clinic.example.org/fhir/CodeSystem/measure-band"
    )


def test_an_answer_the_questionnaire_does_not_declare_is_refused(cast, library):
    case = cast.couple_case
    response = record(cast.therapist_a, case, case.partner_a, "PHQ9", PHQ9_CALM)
    response.answers["4"] = 7  # not stored by the engine (out of range); a broken definition would do this
    with pytest.raises(ValueError, match=r"Item 4 .* declares no answer scored 7"):
        response_to_fhir(response)


def test_the_schema_check_is_not_vacuous(cast, library):
    """What the R4 schema refuses in a mapping's output: a bare number where a coding belongs, an element
    R4 does not have, an empty string."""
    case = cast.couple_case
    qr = response_to_fhir(record(cast.therapist_a, case, case.partner_a, "PHQ9", PHQ9_CALM))
    assert schema_errors(qr) == []
    qr["item"][0]["answer"] = [{"valueCoding": {"code": 0}}]
    qr["item"][1]["answer"] = [{"valueScore": 0}]
    qr["item"][2]["text"] = ""
    errors = "\n".join(schema_errors(qr))
    assert "item/0/answer/0/valueCoding/code: 0 is not of type 'string'" in errors
    assert "'valueScore' was unexpected" in errors
    assert "item/2/text" in errors


def test_the_schema_and_the_models_each_catch_what_the_other_misses(cast, library):
    """Why the export is checked both ways: the R4B models take a status outside its value set and a score
    written as a string; the R4 schema takes a missing status and two values at once."""
    case = cast.couple_case
    [total] = score_observations(record(cast.therapist_a, case, case.partner_a, "PHQ9", PHQ9_CALM))
    for schema_only in (
        {**total, "status": "done"},
        {**total, "valueQuantity": {**total["valueQuantity"], "value": "6"}},
    ):
        Observation.model_validate(schema_only)
        assert schema_errors(schema_only)
    without_status = {k: v for k, v in total.items() if k != "status"}
    for models_only in (without_status, {**total, "valueString": "six"}):
        assert schema_errors(models_only) == []
        with pytest.raises(ValueError):
            Observation.model_validate(models_only)
