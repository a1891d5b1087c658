# The R4B models type every repeating element as "list | None"; the tests index what they just built.
# mypy: disable-error-code="index"
"""FHIR export: responses as QuestionnaireResponse, scores as Observation (validated with R4B)."""

from decimal import Decimal

import pytest
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from tandem.measures.fhir import LOCAL_SCORES, response_to_fhir, score_observations
from tandem.measures.loader import load_instruments
from tests.measures_support import PHQ9_CALM, csi16, record


@pytest.fixture
def library(db):
    load_instruments()


def roundtrip(resource):
    """Serialize and validate again: what H5's bundle will do."""
    return type(resource).model_validate_json(resource.model_dump_json())


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
    [total] = score_observations(response)
    total = roundtrip(total)
    assert isinstance(total, Observation)
    assert total.status == "final"
    assert total.code.coding[0].system == "http://loinc.org" and total.code.coding[0].code == "44261-6"
    assert total.valueQuantity.value == Decimal(6)
    assert total.interpretation[0].text == "mild"
    assert total.derivedFrom[0].reference == f"QuestionnaireResponse/measure-response-{response.pk}"
    assert total.category[0].coding[0].code == "survey"


def test_gad7_total_loinc(cast, library):
    case = cast.couple_case
    response = record(cast.therapist_a, case, case.partner_b, "GAD7", {str(n): 1 for n in range(1, 8)})
    [total] = score_observations(response, subject_reference="urn:uuid:abc")
    assert total.code.coding[0].code == "70274-6"
    assert total.subject.reference == "urn:uuid:abc"


def test_csi16_uses_the_local_code_system_and_the_client_as_author(cast, library):
    case = cast.couple_case
    response = record(cast.partner_a, case, case.partner_a, "CSI16", csi16(60))
    qr = roundtrip(response_to_fhir(response))
    assert qr.author.reference == f"Patient/{case.partner_a_id}"
    [total] = score_observations(response)
    assert [(c.system, c.code) for c in total.code.coding] == [(LOCAL_SCORES, "CSI16.total")]
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
    # Neither the total nor the arousal domain is scored, so neither is exported.
    assert [o.code.coding[-1].code for o in score_observations(partial)] == [
        f"FSFI.{d}" for d in ("desire", "lubrication", "orgasm", "satisfaction", "pain")
    ]
