"""Record release and export: a FHIR R4 Bundle whose references resolve inside it, a partner's information
only with that partner's own valid release, never process notes; the readable PDF; the release page."""

import base64
import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle

from tandem.access.services import AccessDenied
from tandem.audit.models import AuditEvent
from tandem.consents.models import ConsentKind
from tandem.consents.record_export import bundle_from_plan, case_export_bundle, export_plan
from tandem.consents.record_pdf import render_pdf
from tandem.consents.services import consent_revoke
from tandem.lib.errors import Refusal
from tandem.measures.loader import load_instruments
from tandem.measures.models import Instrument, Response
from tandem.pathway.models import Referral, SpecialistType, TreatmentPlan
from tandem.records.services import note_create, note_sign, process_note_create
from tandem.scheduling.models import AppointmentKind
from tests.cast import login
from tests.consents_support import release, signed
from tests.fhir_schema import schema_errors
from tests.records_support import fill, partner_b_private_note, signed_dap, team_session, template


@pytest.fixture
def record(cast):
    """A limited-secrets couple: joint and individual notes, a plan, a referral, measures of each."""
    case = cast.couple_case
    a, b = case.partner_a, case.partner_b
    signed_dap(cast, text="JOINT-SESSION-TEXT")
    partner_b_private_note(cast)
    appointment = team_session(cast, kind=AppointmentKind.CONJUNCTIVE, hours_ago=30)
    tmpl = template("dap")
    note = note_create(
        actor=cast.therapist_a,
        appointment=appointment,
        template=tmpl,
        individual_with=a,
        sections=fill(tmpl, case, {"Data": "A-INDIVIDUAL-TEXT"}),
    )
    note_sign(actor=cast.therapist_a, note=note)
    process_note_create(actor=cast.therapist_a, case=case, text="PROCESS-NOTE-NEVER-EXPORTED")
    now = timezone.now()
    TreatmentPlan.objects.create(
        case=case,
        version=1,
        format="standard",
        sessions_per_week=1,
        goals="PLAN-GOALS-TEXT",
        created_at=now,
        created_by=cast.therapist_a,
    )
    Referral.objects.create(
        case=case,
        client=b,
        specialist_type=SpecialistType.objects.first(),
        reason="B-REFERRAL-REASON",
        sent_at=now,
        due_on=dt.date.today() + dt.timedelta(days=30),
        referred_by=cast.therapist_a,
    )
    load_instruments()
    for client, code, total in ((a, "PHQ9", "7"), (b, "GAD7", "13")):
        Response.objects.create(
            instrument=Instrument.objects.get(code=code),
            instrument_version="1.0",
            client=client,
            case=case,
            answered_at=now,
            answers={"1": 1, "2": None},
            total=Decimal(total),
            band="mild",
            entered_by=cast.therapist_a,
        )
    signed(case, a, ConsentKind.TREATMENT, staff=cast.therapist_a)
    return case


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _references(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return found + [r for value in node.values() for r in _references(value)]
    if isinstance(node, list):
        return [r for value in node for r in _references(value)]
    return []


def _texts(bundle: dict[str, Any]) -> str:
    """Everything a recipient could read: the JSON plus every decoded attachment."""
    attachments = [
        base64.b64decode(c["attachment"]["data"]).decode()
        for doc in _resources(bundle, "DocumentReference")
        for c in doc["content"]
    ]
    return json.dumps(bundle) + "\n".join(attachments)


def _check_valid(bundle: dict[str, Any]) -> None:
    """Valid twice over: the official R4 JSON schema and the R4B models each catch what the other misses."""
    assert schema_errors(bundle) == []
    parsed = Bundle.model_validate(bundle)
    assert parsed.type == "collection"
    urls = {e["fullUrl"] for e in bundle["entry"]}
    assert all(u.startswith("urn:uuid:") for u in urls) and len(urls) == len(bundle["entry"])
    refs = _references(bundle["entry"])
    assert refs and set(refs) <= urls


def test_practice_copy_has_every_resource_kind_and_validates(cast, record):
    bundle = case_export_bundle(actor=cast.therapist_a, case=record)
    _check_valid(bundle)
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert {
        "Patient",
        "Practitioner",
        "CareTeam",
        "EpisodeOfCare",
        "Appointment",
        "CarePlan",
        "ServiceRequest",
        "Consent",
        "DocumentReference",
        "QuestionnaireResponse",
        "Observation",
        "List",
    } <= kinds
    assert len(_resources(bundle, "Patient")) == 2
    assert len(_resources(bundle, "DocumentReference")) == 3
    observations = _resources(bundle, "Observation")
    assert {o["code"]["coding"][0]["code"] for o in observations} >= {"44261-6"}
    text = _texts(bundle)
    assert "JOINT-SESSION-TEXT" in text and "B-PRIVATE-SECRET" in text and "PLAN-GOALS-TEXT" in text
    assert "PROCESS-NOTE-NEVER-EXPORTED" not in text
    assert AuditEvent.objects.filter(action="record.export", case_id=record.pk).count() == 1


def test_release_without_partner_b_consent_leaves_b_out_and_says_so(cast, record):
    a_release = release(record, record.partner_a, staff=cast.therapist_a)
    bundle = case_export_bundle(actor=cast.therapist_a, case=record, release=a_release)
    _check_valid(bundle)
    patients = _resources(bundle, "Patient")
    assert [p["name"][0]["given"][0] for p in patients] == ["Alex"]
    text = _texts(bundle)
    assert "A-INDIVIDUAL-TEXT" in text
    for secret in (
        "Blair",
        "B-PRIVATE-SECRET",
        "B-SHARED-PLAN",
        "JOINT-SESSION-TEXT",
        "B-REFERRAL-REASON",
        "PLAN-GOALS-TEXT",
        "PROCESS-NOTE-NEVER-EXPORTED",
    ):
        assert secret not in text.replace("Nothing about Blair Partner", "").replace(
            "release of Blair Partner", ""
        ), secret
    # Only Alex's own individual session: the joint ones would tell the recipient about Blair.
    appointments = _resources(bundle, "Appointment")
    assert len(appointments) == 1
    patient_url = next(e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    assert patient_url in [p["actor"]["reference"] for p in appointments[0]["participant"]]
    assert len(_resources(bundle, "QuestionnaireResponse")) == 1
    notes = " ".join(n["text"] for n in _resources(bundle, "List")[0]["note"])
    assert "Nothing about Blair Partner is included" in notes
    assert "Psychotherapy (process) notes are never part" in notes


def test_with_partner_b_release_to_the_same_recipient_b_is_included(cast, record):
    a_release = release(record, record.partner_a, staff=cast.therapist_a)
    release(
        record, record.partner_b, staff=cast.therapist_a, recipient="  dr. rowan example, general PRACTICE"
    )
    bundle = case_export_bundle(actor=cast.therapist_a, case=record, release=a_release)
    _check_valid(bundle)
    assert len(_resources(bundle, "Patient")) == 2
    text = _texts(bundle)
    for wanted in ("JOINT-SESSION-TEXT", "B-PRIVATE-SECRET", "B-REFERRAL-REASON", "PLAN-GOALS-TEXT"):
        assert wanted in text, wanted
    assert len(_resources(bundle, "QuestionnaireResponse")) == 2
    assert _resources(bundle, "Appointment")
    assert "PROCESS-NOTE-NEVER-EXPORTED" not in text


def test_revoked_or_differently_addressed_release_of_b_does_not_count(cast, record):
    a_release = release(record, record.partner_a, staff=cast.therapist_a)
    b_release = release(record, record.partner_b, staff=cast.therapist_a)
    release(record, record.partner_b, staff=cast.therapist_a, recipient="Another clinic")
    consent_revoke(actor=cast.partner_b, consent=b_release, reason="")
    plan = export_plan(case=record, release=a_release)
    assert [c.pk for c in plan.covered] == [record.partner_a_id]
    assert any("Nothing about Blair Partner" in line for line in plan.excluded)
    consent_revoke(actor=cast.partner_a, consent=a_release)
    with pytest.raises(Refusal, match="not valid"):
        export_plan(case=record, release=a_release)


def test_release_limited_to_measures_leaves_notes_out_and_says_so(cast, record):
    a_release = release(record, record.partner_a, staff=cast.therapist_a, categories=["measures"])
    bundle = case_export_bundle(actor=cast.therapist_a, case=record, release=a_release)
    _check_valid(bundle)
    assert not _resources(bundle, "DocumentReference") and not _resources(bundle, "Appointment")
    assert len(_resources(bundle, "Observation")) == 1
    notes = " ".join(n["text"] for n in _resources(bundle, "List")[0]["note"])
    assert "Individual session notes" in notes and "not covered by the release of Alex Partner" in notes


def test_individual_case_exports_patient_and_related_person(cast):
    case = cast.solo_case
    signed(case, case.partner_a, ConsentKind.TREATMENT, staff=cast.therapist_a)
    bundle = case_export_bundle(actor=cast.therapist_a, case=case)
    _check_valid(bundle)
    assert len(_resources(bundle, "Patient")) == 1
    related = _resources(bundle, "RelatedPerson")
    assert len(related) == 1 and "unwilling" in related[0]["relationship"][0]["text"].lower()


def test_only_the_case_clinicians_may_export(cast, record):
    for outsider in (cast.therapist_b, cast.coordinator, cast.partner_a):
        with pytest.raises(AccessDenied):
            case_export_bundle(actor=outsider, case=record)


def test_pdf_is_a_readable_record(cast, record):
    a_release = release(record, record.partner_a, staff=cast.therapist_a)
    pdf = render_pdf(export_plan(case=record, release=a_release), compress=False)
    assert pdf.startswith(b"%PDF")
    for heading in (
        b"Clinical record",
        b"Left out of this record",
        b"Session notes",
        b"Questionnaires",
        b"A-INDIVIDUAL-TEXT",
    ):
        assert heading in pdf, heading
    assert b"B-PRIVATE-SECRET" not in pdf and b"PROCESS-NOTE" not in pdf


# --- the page ---------------------------------------------------------------------------------------------


def _url(case, suffix: str = "") -> str:
    return f"/consents/case/{case.pk}/export/{suffix}"


def test_release_page_previews_and_downloads(client, cast, record):
    a_release = release(record, record.partner_a, staff=cast.therapist_a)
    login(client, cast.therapist_a)
    page = client.get(_url(record), {"release": a_release.pk}).content.decode()
    assert "Nothing about Blair Partner is included" in page and "Download FHIR bundle" in page
    response = client.get(_url(record, "bundle.json"), {"release": a_release.pk})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    _check_valid(json.loads(response.content))
    pdf = client.get(_url(record, "record.pdf"))
    assert (
        pdf.status_code == 200
        and pdf.content.startswith(b"%PDF")
        and pdf["Content-Type"] == "application/pdf"
    )
    assert AuditEvent.objects.filter(action="record.export", case_id=record.pk).count() == 2


@pytest.mark.parametrize("who", ["therapist_b", "coordinator", "partner_a"])
def test_outsiders_get_404_on_every_export_url(client, cast, record, who):
    login(client, getattr(cast, who))
    for suffix in ("", "bundle.json", "record.pdf"):
        assert client.get(_url(record, suffix)).status_code == 404
    assert client.get(f"/consents/case/{record.pk}/client/{record.partner_a_id}/data.json").status_code == 404


def test_a_release_of_another_case_or_unknown_id_is_404(client, cast, record):
    other = release(cast.solo_case, cast.solo_case.partner_a, staff=cast.therapist_a)
    login(client, cast.therapist_a)
    assert client.get(_url(record), {"release": other.pk}).status_code == 404
    assert client.get(_url(record, "bundle.json"), {"release": "x"}).status_code == 404


# --- the one mapping of questionnaire data, and the practice's systems ------------------------------------


def _by_url(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["fullUrl"]: e["resource"] for e in bundle["entry"]}


def test_questionnaire_answers_and_scores_are_mapped_as_the_measures_app_maps_them(cast, record):
    bundle = case_export_bundle(actor=cast.therapist_a, case=record)
    _check_valid(bundle)
    resources = _by_url(bundle)
    responses = {r.pk: r for r in Response.objects.filter(case=record).select_related("instrument")}
    for qr in _resources(bundle, "QuestionnaireResponse"):
        response = responses[int(qr["identifier"]["value"])]
        questions = {item["linkId"]: item for item in response.instrument.definition["questionnaire"]["item"]}
        answered = [item for item in qr["item"] if "answer" in item]
        assert [item["linkId"] for item in answered] == ["1"]  # item 2 was left unanswered
        coding = answered[0]["answer"][0]["valueCoding"]
        declared = [option["valueCoding"] for option in questions["1"]["answerOption"]]
        assert {k: v for k, v in coding.items() if k != "extension"} in declared and coding["code"] == "1"
        assert qr["status"] == "stopped"  # a required item is unanswered
        assert resources[qr["author"]["reference"]]["resourceType"] == "Practitioner"
        assert resources[qr["subject"]["reference"]]["resourceType"] == "Patient"
    totals = {
        o["code"]["coding"][0]["code"]: o
        for o in _resources(bundle, "Observation")
        if o["code"]["coding"][-1]["code"].endswith(".total")
    }
    assert set(totals) == {"44261-6", "70274-6"}  # PHQ-9 and GAD-7 totals in LOINC
    for observation in totals.values():
        assert [c["system"] for c in observation["code"]["coding"]] == [
            "http://loinc.org",
            "http://127.0.0.1:8000/fhir/CodeSystem/measure-score",
        ]
        derived = resources[observation["derivedFrom"][0]["reference"]]
        assert derived["resourceType"] == "QuestionnaireResponse"
        assert observation["subject"] == derived["subject"]


def _systems(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["system"]] if isinstance(node.get("system"), str) else []
        return found + [s for value in node.values() for s in _systems(value)]
    if isinstance(node, list):
        return [s for value in node for s in _systems(value)]
    return []


STANDARD_SYSTEMS = ("http://loinc.org", "http://unitsofmeasure.org", "http://terminology.hl7.org/CodeSystem/")


@override_settings(FHIR_IDENTIFIER_SYSTEM="https://clinic.example.org/fhir")
def test_identifier_and_local_code_systems_come_from_the_practice_setting(cast, record):
    bundle = case_export_bundle(actor=cast.therapist_a, case=record)
    _check_valid(bundle)
    systems = set(_systems(bundle["entry"]))
    local = {s for s in systems if not s.startswith(STANDARD_SYSTEMS)}
    assert local == {
        "https://clinic.example.org/fhir/client",
        "https://clinic.example.org/fhir/case",
        "https://clinic.example.org/fhir/measure-response",
        "https://clinic.example.org/fhir/CodeSystem/measure-score",
        "https://clinic.example.org/fhir/CodeSystem/measure-band",
    }
    patients = _resources(bundle, "Patient")
    assert sorted(p["identifier"][0]["value"] for p in patients) == sorted(str(c.pk) for c in record.partners)
    [episode] = _resources(bundle, "EpisodeOfCare")
    assert episode["identifier"] == [
        {"system": "https://clinic.example.org/fhir/case", "value": record.reference}
    ]


def test_patient_gender_is_unknown_because_the_client_record_holds_none(cast, record):
    bundle = case_export_bundle(actor=cast.therapist_a, case=record)
    assert [p["gender"] for p in _resources(bundle, "Patient")] == ["unknown", "unknown"]


def _export_queries(case) -> int:
    with CaptureQueriesContext(connection) as ctx:
        bundle_from_plan(export_plan(case=case))
    return len(ctx.captured_queries)


def test_the_export_runs_a_constant_number_of_queries_however_many_responses(cast, record):
    few = _export_queries(record)
    instrument = Instrument.objects.get(code="PHQ9")
    for client, entered_by in ((record.partner_a, cast.therapist_b), (record.partner_b, None)):
        for days in range(3):
            Response.objects.create(
                instrument=instrument,
                instrument_version="1.0",
                client=client,
                case=record,
                answered_at=timezone.now() - dt.timedelta(days=days + 1),
                answers={str(n): 2 for n in range(1, 10)},
                total=Decimal(18),
                band="moderately_severe",
                entered_by=entered_by,
            )
    assert _export_queries(record) == few
