"""Safety alerts: PHQ-9 item 9 above 0 alerts the assigned therapists at once, until acknowledged."""

import pytest
from django.core import mail
from django.db import IntegrityError
from django.urls import reverse

from tandem.access.services import AccessDenied
from tandem.audit.models import AuditEvent
from tandem.audit.services import verify_audit_chain
from tandem.lib.errors import Refusal
from tandem.measures import services
from tandem.measures.loader import load_instruments
from tandem.measures.models import Response, SafetyAlert
from tandem.measures.schedule import measures_schedule_for_case
from tests.cast import login
from tests.measures_support import PHQ9_CALM, record

TODAY = reverse("today")


@pytest.fixture
def library(db):
    load_instruments()


def flagged(cast, who="partner_a", item9=1):
    case = cast.couple_case
    return record(cast.therapist_a, case, getattr(case, who), "PHQ9", {**PHQ9_CALM, "9": item9})


def test_item_9_above_zero_raises_an_alert_and_mails_the_team(
    cast, library, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = flagged(cast)
    alert = SafetyAlert.objects.get()
    assert alert.response == response and alert.flags == ["suicidal_ideation"]
    assert alert.acknowledged_at is None
    # Both co-therapists of the team, nobody else; nothing clinical or identifying in the e-mail.
    assert sorted(m.to[0] for m in mail.outbox) == [
        "colin.cotherapist@staff.tandem.invalid",
        "tess.assigned@staff.tandem.invalid",
    ]
    for message in mail.outbox:
        text = f"{message.subject} {message.body}".lower()
        assert "log in" in text
        for secret in ("alex", "blair", "partner", "phq", "suicid", "self-harm", "t-0001"):
            assert secret not in text
    assert AuditEvent.objects.filter(action="measures.safety_alert_raised", target_id=str(alert.pk)).exists()


def test_item_9_at_zero_raises_nothing(cast, library, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        record(cast.therapist_a, cast.couple_case, cast.couple_case.partner_a, "PHQ9", {**PHQ9_CALM, "1": 3})
    assert not SafetyAlert.objects.exists()
    assert not mail.outbox


def test_alert_and_response_share_one_transaction(cast, library, monkeypatch):
    def broken(**kwargs):
        raise IntegrityError("simulated failure")

    monkeypatch.setattr(SafetyAlert.objects, "create", broken)
    with pytest.raises(IntegrityError):
        flagged(cast)
    assert not Response.objects.exists()
    assert not AuditEvent.objects.filter(action="measures.response_recorded").exists()


def test_today_banner_for_the_assigned_therapists_only(client, cast, library):
    flagged(cast, "partner_b", item9=2)
    for who in ("therapist_a", "cotherapist", "director"):
        login(client, getattr(cast, who))
        page = client.get(TODAY).content.decode()
        assert "Safety alert" in page, who
        link = f'<a href="{reverse("measures:case", kwargs={"case_id": cast.couple_case.pk})}">'
        assert f"{link}Alex Partner &amp; Blair Partner</a></strong>: Blair answered" in page
    for who in ("therapist_b", "coordinator"):
        login(client, getattr(cast, who))
        assert "Safety alert" not in client.get(TODAY).content.decode(), who


def test_client_who_answers_so_sees_where_to_get_help(client, cast, library):
    measures_schedule_for_case(cast.couple_case.pk)
    due = cast.couple_case.partner_a.measure_requests.get(instrument__code="PHQ9")
    login(client, cast.partner_a)
    data = {f"item_{k}": str(v) for k, v in {**PHQ9_CALM, "9": 1}.items()}
    page = client.post(reverse("measures:my_fill", kwargs={"request_id": due.pk}), data)
    assert page.status_code == 200
    assert "113" in page.content.decode() and "112" in page.content.decode()
    assert SafetyAlert.objects.filter(client=cast.couple_case.partner_a).exists()


def test_acknowledge_needs_an_assigned_therapist_and_a_note(client, cast, library):
    flagged(cast)
    alert = SafetyAlert.objects.get()
    with pytest.raises(AccessDenied):
        services.safety_alert_acknowledge(
            actor=cast.therapist_b, alert=alert, note="Called the client today."
        )
    with pytest.raises(Refusal, match="at least"):
        services.safety_alert_acknowledge(actor=cast.cotherapist, alert=alert, note="ok")
    url = reverse("measures:acknowledge", kwargs={"case_id": cast.couple_case.pk, "alert_id": alert.pk})
    login(client, cast.therapist_b)
    assert client.post(url, {"note": "Called the client today."}).status_code == 404
    login(client, cast.cotherapist)
    assert client.post(url, {"note": "Called the client, safety plan reviewed."}).status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_by == cast.cotherapist and "safety plan" in alert.note
    event = AuditEvent.objects.get(action="measures.safety_alert_acknowledged")
    assert event.target_id == str(alert.pk) and "note" not in event.detail
    assert verify_audit_chain().ok
    # Gone from Today, kept on the case page.
    login(client, cast.therapist_a)
    assert "Safety alert" not in client.get(TODAY).content.decode()
    page = client.get(reverse("measures:case", kwargs={"case_id": cast.couple_case.pk})).content.decode()
    assert "acknowledged by Colin Cotherapist" in page
    with pytest.raises(Refusal, match="already"):
        services.safety_alert_acknowledge(actor=cast.therapist_a, alert=alert, note="Second acknowledgement.")


def test_today_lists_due_questionnaires_of_my_cases(client, cast, library):
    measures_schedule_for_case(cast.couple_case.pk)
    login(client, cast.therapist_a)
    page = client.get(TODAY).content.decode()
    assert "Questionnaires due" in page
    assert "PHQ9 from Alex" in page and "CSI16 from Blair" in page
    assert "overdue" in page  # due on the day the case opened, months ago
    login(client, cast.therapist_b)
    assert "PHQ9 from Alex" not in client.get(TODAY).content.decode()


def test_the_alert_e_mail_links_to_the_address_the_answers_came_in_on(
    client, cast, library, settings, django_capture_on_commit_callbacks
):
    settings.PORTAL_BASE_URL = "http://127.0.0.1:8000"
    case = cast.couple_case
    login(client, cast.therapist_a)
    enter = reverse("measures:enter", kwargs={"case_id": case.pk})
    answers = {f"item_{k}": v for k, v in {**PHQ9_CALM, "9": 1}.items()}
    with django_capture_on_commit_callbacks(execute=True):
        posted = client.post(
            enter,
            {"client": case.partner_a_id, "code": "PHQ9", **answers},
            headers={"host": "localhost:8123"},
        )
    assert posted.status_code == 302
    assert mail.outbox
    for message in mail.outbox:
        assert f"http://localhost:8123{TODAY}" in message.body
        assert ":8000" not in message.body
