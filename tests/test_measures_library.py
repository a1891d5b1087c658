"""The instrument library in the database, licensed wording import, and storing scored responses."""

import copy
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tandem.access.services import AccessDenied
from tandem.audit.models import AuditEvent
from tandem.audit.services import verify_audit_chain
from tandem.cases.models import Client
from tandem.lib.errors import Refusal
from tandem.measures import engine
from tandem.measures.forms import QuestionnaireForm
from tandem.measures.loader import load_instruments
from tandem.measures.models import Instrument, Response
from tandem.measures.services import response_record


@pytest.fixture
def library(db):
    load_instruments()


def licensed_file(tmp_path, code="CSI4", mutate=None):
    questionnaire = copy.deepcopy(engine.load_definition(code)["questionnaire"])
    questionnaire["identifier"] = [{"system": "https://clinic.example/forms", "value": code}]
    questionnaire.pop("url")
    for item in questionnaire["item"]:
        item["text"] = f"Licensed wording {item['linkId']}"
    if mutate:
        mutate(questionnaire)
    path = tmp_path / f"{code}.json"
    path.write_text(json.dumps(questionnaire))
    return path


def test_load_instruments_is_idempotent(db):
    assert {outcome for _code, outcome in load_instruments()} == {"created"}
    assert {outcome for _code, outcome in load_instruments()} == {"unchanged"}
    assert Instrument.objects.count() == 8
    phq9 = Instrument.objects.get(code="PHQ9")
    assert phq9.version == "1.0"
    assert phq9.definition == engine.load_definition("PHQ9")
    assert not phq9.has_licensed_wording


def test_load_instruments_command(db, capsys):
    call_command("load_instruments")
    assert "FSFI: created" in capsys.readouterr().out


def test_import_questionnaire_replaces_wording(library, tmp_path):
    call_command("import_questionnaire", str(licensed_file(tmp_path)))
    csi4 = Instrument.objects.get(code="CSI4")
    assert csi4.has_licensed_wording
    assert [item["text"] for item in csi4.definition["questionnaire"]["item"]] == [
        f"Licensed wording {n}" for n in range(1, 5)
    ]
    assert csi4.definition["scoring"] == engine.load_definition("CSI4")["scoring"]
    assert AuditEvent.objects.filter(action="measures.wording_imported", target_id=str(csi4.pk)).exists()
    # Reloading the same shipped version keeps the clinic's wording.
    load_instruments()
    assert Instrument.objects.get(code="CSI4").has_licensed_wording


def _drop_last_item(questionnaire):
    questionnaire["item"].pop()


def _rename_item(questionnaire):
    questionnaire["item"][1]["linkId"] = "2a"


def _unknown_instrument(questionnaire):
    questionnaire["identifier"] = [{"value": "DAS32"}]
    questionnaire["name"] = "DAS32"


def _no_status(questionnaire):
    questionnaire.pop("status")


def _item_without_type(questionnaire):
    questionnaire["item"][0].pop("type")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (_drop_last_item, "CSI4 has 4 items, the file has 3"),
        (_rename_item, "expected linkId '2'"),
        (_unknown_instrument, "no instrument in the library matches"),
        (_no_status, "not a valid FHIR Questionnaire: status"),
        (_item_without_type, "not a valid FHIR Questionnaire: item.0.type"),
    ],
)
def test_import_questionnaire_refuses_and_changes_nothing(library, tmp_path, mutate, message):
    before = Instrument.objects.get(code="CSI4").definition
    with pytest.raises(CommandError, match=message):
        call_command("import_questionnaire", str(licensed_file(tmp_path, mutate=mutate)))
    csi4 = Instrument.objects.get(code="CSI4")
    assert csi4.definition == before
    assert not csi4.has_licensed_wording


def test_import_questionnaire_refuses_non_json(library, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("import_questionnaire", str(path))
    assert not Instrument.objects.filter(has_licensed_wording=True).exists()


PHQ9_ANSWERS = {str(n): value for n, value in enumerate([1, 2, 3, 1, 2, 3, 1, 2, 1], start=1)}


def test_assigned_therapist_records_a_scored_response(cast, library):
    case = cast.couple_case
    response = response_record(
        actor=cast.therapist_a, case=case, client=case.partner_a, instrument_code="PHQ9", answers=PHQ9_ANSWERS
    )
    response.refresh_from_db()
    assert response.total == Decimal(16)
    assert response.band == "moderately_severe"
    assert response.flags == ["suicidal_ideation"]
    assert response.missing == []
    assert response.instrument_version == "1.0"
    assert response.entered_by == cast.therapist_a
    event = AuditEvent.objects.get(action="measures.response_recorded")
    assert event.case_id == case.pk
    assert event.target_id == str(response.pk)
    assert event.detail["flags"] == ["suicidal_ideation"]
    assert verify_audit_chain().ok


def test_director_records_fsfi_with_domains(cast, library):
    case = cast.couple_case
    answers = {str(n): 5 for n in range(1, 20)}
    answers["3"] = None
    response = response_record(
        actor=cast.director, case=case, client=case.partner_b, instrument_code="FSFI", answers=answers
    )
    response.refresh_from_db()
    assert response.total is None
    assert response.band == ""
    assert response.domains["arousal"] is None
    assert response.domains["desire"] == 6.0
    assert response.missing == ["3"]


def test_out_of_range_answer_is_refused_naming_the_item(cast, library):
    case = cast.couple_case
    with pytest.raises(ValueError, match="item 9: 4 is outside"):
        response_record(
            actor=cast.therapist_a,
            case=case,
            client=case.partner_a,
            instrument_code="PHQ9",
            answers={**PHQ9_ANSWERS, "9": 4},
        )
    assert not Response.objects.exists()


# A client may record only their own answers (the portal): the other partner is refused like a stranger.
@pytest.mark.parametrize("who", ["therapist_b", "coordinator", "partner_b"])
def test_only_the_case_clinicians_may_enter_answers(cast, library, who):
    case = cast.couple_case
    with pytest.raises(AccessDenied):
        response_record(
            actor=getattr(cast, who),
            case=case,
            client=case.partner_a,
            instrument_code="PHQ9",
            answers=PHQ9_ANSWERS,
        )
    assert not Response.objects.exists()
    assert not AuditEvent.objects.filter(action="measures.response_recorded").exists()


def test_client_must_belong_to_the_case(cast, library):
    stranger = Client.objects.create(first_name="Una", last_name="Related")
    with pytest.raises(Refusal):
        response_record(
            actor=cast.therapist_a,
            case=cast.couple_case,
            client=stranger,
            instrument_code="PHQ9",
            answers=PHQ9_ANSWERS,
        )


# IIEF-5 item 4 (Rosen et al. 1999), listed from the highest score down as a clinic's file may list it.
ITEM_4_AS_PRINTED = [
    (5, "Not difficult"),
    (4, "Slightly difficult"),
    (3, "Difficult"),
    (2, "Very difficult"),
    (1, "Extremely difficult"),
    (0, "Did not attempt intercourse"),
]


def _options(pairs):
    ordinal = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
    return [
        {
            "valueCoding": {"code": str(v), "display": label},
            "extension": [{"url": ordinal, "valueDecimal": v}],
        }
        for v, label in pairs
    ]


def _label_item_4(questionnaire):
    questionnaire["item"][3]["answerOption"] = _options(ITEM_4_AS_PRINTED)


def test_import_brings_answer_labels_matched_by_score(library, tmp_path):
    call_command("import_questionnaire", str(licensed_file(tmp_path, "IIEF5", _label_item_4)))
    iief5 = Instrument.objects.get(code="IIEF5")
    item_4 = QuestionnaireForm(instrument=iief5).fields["item_4"]
    # Shown in scoring order whatever order the file used, each label on the value it scores.
    assert list(item_4.choices) == sorted(ITEM_4_AS_PRINTED)
    item_2 = QuestionnaireForm(instrument=iief5).fields["item_2"]
    assert next(iter(item_2.choices)) == (0, "No sexual activity")
    assert iief5.definition["scoring"] == engine.load_definition("IIEF5")["scoring"]


def _drop_zero_of_item_2(questionnaire):
    questionnaire["item"][1]["answerOption"] = _options([(v, str(v)) for v in range(1, 6)])


def _half_point(questionnaire):
    questionnaire["item"][0]["answerOption"][0]["extension"][0]["valueDecimal"] = 1.5


def _score_twice(questionnaire):
    questionnaire["item"][2]["answerOption"] = _options(
        [(0, "a"), (1, "b"), (1, "c"), (3, "d"), (4, "e"), (5, "f")]
    )


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            _drop_zero_of_item_2,
            r"item 2: the file's answers score \[1, 2, 3, 4, 5\], the published key \[0, 1,",
        ),
        (_half_point, "item 1: an answer has no whole-number score"),
        (_score_twice, r"item 3: the file's answers score \[0, 1, 1, 3, 4, 5\]"),
    ],
)
def test_import_refuses_answers_that_score_otherwise(library, tmp_path, mutate, message):
    before = Instrument.objects.get(code="IIEF5").definition
    with pytest.raises(CommandError, match=message):
        call_command("import_questionnaire", str(licensed_file(tmp_path, "IIEF5", mutate)))
    iief5 = Instrument.objects.get(code="IIEF5")
    assert iief5.definition == before
    assert not iief5.has_licensed_wording
