"""The coordinators' inbox: who may open it, converting and declining requests, and its query count."""

import uuid

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tandem.audit.models import AuditEvent
from tandem.cases.models import Phase
from tandem.portal.models import Invitation
from tandem.public import services
from tandem.public.models import ConsultationRequest, ContactMessage, MessageStatus, RequestStatus
from tandem.scheduling.models import AppointmentStatus
from tests.cast import login
from tests.notify_support import deliver
from tests.public_support import NOW, SLOT, offers

INBOX = "/inbox/"


@pytest.fixture(autouse=True)
def _clock(settings):
    settings.TIME_ZONE = "Europe/Amsterdam"
    cache.clear()
    with time_machine.travel(NOW, tick=False):
        yield


def booked(cast, n: int = 0, *, email: str | None = None) -> ConsultationRequest:
    offers(cast.therapist_a)
    import datetime as dt

    return services.consultation_request_book(
        visitor=services.Visitor(name=f"Robin Visitor{n}", email=email or f"robin{n}@example.invalid"),
        reason="Private reason",
        therapist=cast.therapist_a,
        starts_at=SLOT + dt.timedelta(minutes=20 * n),
        mode="video",
        idempotency_key=uuid.uuid4(),
        manage_path=lambda t: f"/m/{t}/",
    )


def message(n: int = 0) -> ContactMessage:
    return services.contact_message_send(
        visitor=services.Visitor(name=f"Kim {n}", email=f"kim{n}@example.invalid"), message=f"Question {n}"
    )


@pytest.mark.django_db
class TestWhoMayOpenIt:
    @pytest.mark.parametrize(
        ("role", "status"),
        [
            ("coordinator", 200),
            ("director", 200),
            ("therapist_a", 404),
            ("therapist_b", 404),
            ("partner_a", 404),
        ],
    )
    def test_by_role(self, client, cast, role, status):
        request = booked(cast)
        login(client, getattr(cast, role))
        assert client.get(INBOX).status_code == status
        assert client.get(reverse("public:inbox_request", kwargs={"pk": request.pk})).status_code == status

    @pytest.mark.parametrize("role", ["therapist_b", "partner_a", "therapist_a"])
    def test_outsider_actions_change_nothing_and_are_audited(self, client, cast, role):
        request, note = booked(cast), message()
        login(client, getattr(cast, role))
        denied = AuditEvent.objects.filter(action="access.denied").count()
        url = reverse("public:inbox_request", kwargs={"pk": request.pk})
        assert client.post(url, {"action": "convert", "invite": "on"}).status_code == 404
        assert client.post(url, {"action": "decline", "reason": "No"}).status_code == 404
        assert (
            client.post(
                reverse("public:inbox_message", kwargs={"pk": note.pk}), {"status": "closed"}
            ).status_code
            == 404
        )
        request.refresh_from_db()
        note.refresh_from_db()
        assert request.status == RequestStatus.NEW and request.case.phase == Phase.CONSULTATION
        assert note.status == MessageStatus.NEW
        assert AuditEvent.objects.filter(action="access.denied").count() == denied + 3

    def test_anonymous_is_sent_to_log_in(self, client, cast):
        response = client.get(INBOX)
        assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.django_db
class TestHandling:
    def test_the_inbox_lists_requests_and_messages_with_status(self, client, cast):
        booked(cast)
        message()
        login(client, cast.coordinator)
        page = client.get(INBOX).content.decode()
        assert "Robin Visitor0" in page and "Question 0" in page and "New" in page
        closed = client.get(INBOX, {"requests": "declined", "messages": "closed"}).content.decode()
        assert "Robin Visitor0" not in closed and "Question 0" not in closed

    def test_convert_moves_the_case_to_intake_and_invites_both_partners(
        self, client, cast, django_capture_on_commit_callbacks
    ):
        request = booked(cast)
        login(client, cast.coordinator)
        url = reverse("public:inbox_request", kwargs={"pk": request.pk})
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                url,
                {
                    "action": "convert",
                    "partner_first_name": "Jo",
                    "partner_last_name": "Visitor",
                    "partner_email": "jo@example.invalid",
                    "invite": "on",
                },
            )
        assert response.status_code == 302
        request.refresh_from_db()
        case = request.case
        assert request.status == RequestStatus.CONVERTED and request.handled_by == cast.coordinator
        assert case.phase == Phase.INTAKE and case.is_couple
        assert case.phase_changes.last().by == cast.coordinator
        assert sorted(i.email for i in Invitation.objects.filter(case=case)) == [
            "jo@example.invalid",
            "robin0@example.invalid",
        ]
        assert sorted(m.to[0] for m in deliver()) == ["jo@example.invalid", "robin0@example.invalid"]
        # Handled requests offer no more actions, and the link the visitor has stops working.
        again = client.post(url, {"action": "decline", "reason": "x"})
        assert again.status_code == 400 and "converted to a case already" in again.content.decode()
        request.refresh_from_db()
        assert request.status == RequestStatus.CONVERTED

    def test_decline_releases_the_slot_and_closes_the_case(self, client, cast):
        request = booked(cast)
        login(client, cast.coordinator)
        url = reverse("public:inbox_request", kwargs={"pk": request.pk})
        missing = client.post(url, {"action": "decline", "reason": ""})
        assert missing.status_code == 400 and "This field is required" in missing.content.decode()
        response = client.post(
            url, {"action": "decline", "reason": "Asked for individual therapy elsewhere."}
        )
        assert response.status_code == 302
        request.refresh_from_db()
        assert request.status == RequestStatus.DECLINED
        assert request.case.phase == Phase.CLOSED
        assert request.appointment.status == AppointmentStatus.CANCELLED

    def test_confirm_and_message_status(self, client, cast):
        request, note = booked(cast), message()
        login(client, cast.coordinator)
        client.post(reverse("public:inbox_request", kwargs={"pk": request.pk}), {"action": "confirm"})
        client.post(reverse("public:inbox_message", kwargs={"pk": note.pk}), {"status": "answered"})
        request.refresh_from_db()
        note.refresh_from_db()
        assert request.status == RequestStatus.CONFIRMED and note.status == MessageStatus.ANSWERED
        assert note.handled_by == cast.coordinator

    def test_today_shows_the_inbox_count_to_coordinators_only(self, client, cast):
        booked(cast)
        message()
        message(1)
        login(client, cast.coordinator)
        assert "1 new consultation request · 2 new messages" in client.get("/").content.decode()
        login(client, cast.therapist_a)
        assert "new consultation request" not in client.get("/").content.decode()


@pytest.mark.django_db
def test_the_inbox_runs_a_constant_number_of_queries(client, cast):
    login(client, cast.coordinator)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(INBOX, {"requests": "all", "messages": "all"}).status_code == 200
        return len(captured)

    booked(cast, 0)
    message(0)
    few = queries()
    for n in range(1, 6):
        booked(cast, n)
        message(n)
    assert ConsultationRequest.objects.count() == 6
    assert queries() == few
