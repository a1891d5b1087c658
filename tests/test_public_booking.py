"""The free consultation from the public site: one booking per slot and per form, clear refusals, and
signed links that cannot be forged, reused or used late."""

import datetime as dt
import threading
import uuid

import pytest
import time_machine
from django.core import mail, signing
from django.core.cache import cache
from django.db import connection, connections
from django.urls import reverse

from tandem.audit.models import AuditEvent
from tandem.cases.models import Case, Client, Phase
from tandem.public import services
from tandem.public.models import ConsultationRequest, RequestStatus
from tandem.scheduling.models import Appointment, AppointmentStatus, Occupancy
from tests.notify_support import deliver
from tests.public_support import LATER, NOW, SLOT, booking_form, offers

URL = "/consultation/"


@pytest.fixture(autouse=True)
def _public(settings):
    settings.TIME_ZONE = "Europe/Amsterdam"
    settings.PUBLIC_BOOKING_RATE = "1000/h"
    cache.clear()
    with time_machine.travel(NOW, tick=False):
        yield
    cache.clear()


def counts() -> tuple[int, int, int, int, int]:
    return (
        ConsultationRequest.objects.count(),
        Client.objects.count(),
        Case.objects.count(),
        Appointment.objects.filter(status=AppointmentStatus.BOOKED).count(),
        Occupancy.objects.count(),
    )


def book(client, data, capture=None):
    if capture is None:
        return client.post(URL, data)
    with capture(execute=True):
        return client.post(URL, data)


def token_from(response) -> str:
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"].rstrip("/").split("/")[-1]


@pytest.mark.django_db
class TestBooking:
    def test_the_page_offers_live_slots_with_the_therapist(self, client, cast):
        offers(cast.therapist_a)
        page = client.get(URL, {"day": "2027-01-05"}).content.decode()
        assert "Times on Tuesday 5 January" in page
        assert f'value="{cast.therapist_a.pk}-{int(SLOT.timestamp())}"' in page
        assert "Tess A." in page
        assert "Theo" not in page  # Theo does not offer consultations

    def test_a_booking_writes_request_client_case_and_appointment_together(
        self, client, cast, django_capture_on_commit_callbacks
    ):
        offers(cast.therapist_a)
        before = counts()
        response = book(client, booking_form(cast.therapist_a), django_capture_on_commit_callbacks)
        token = token_from(response)
        assert counts() == tuple(n + d for n, d in zip(before, (1, 1, 1, 1, 2), strict=True))
        booked = ConsultationRequest.objects.get()
        assert booked.status == RequestStatus.NEW and booked.starts_at == SLOT
        assert booked.case.phase == Phase.CONSULTATION and not booked.case.is_couple
        assert booked.case.partner_a.first_name == "Robin" and booked.case.partner_a.last_name == "Visitor"
        assert booked.appointment.kind == "consultation" and booked.appointment.mode == "video"
        assert list(booked.appointment.therapists.all()) == [cast.therapist_a]
        page = client.get(response["Location"]).content.decode()
        assert "Your free consultation is booked" in page and "Tuesday 5 January 2027" in page
        assert reverse("public:consultation_manage", kwargs={"token": token}) in page
        # One e-mail: the time and the link, never the reason or the therapist.
        (sent,) = mail.outbox
        assert sent.to == ["robin@example.invalid"]
        assert "10:00" not in sent.body and "09:00" in sent.body
        assert f"/consultation/manage/{token}/" in sent.body
        assert "intimacy" not in sent.body and "Tess" not in sent.body
        assert "intimacy" not in sent.subject

    def test_the_same_form_sent_twice_books_once(self, client, cast, django_capture_on_commit_callbacks):
        offers(cast.therapist_a)
        data = booking_form(cast.therapist_a)
        first = book(client, data, django_capture_on_commit_callbacks)
        second = book(client, data, django_capture_on_commit_callbacks)
        assert first.status_code == second.status_code == 302
        assert first["Location"] == second["Location"]
        assert ConsultationRequest.objects.count() == 1 and Appointment.objects.count() == 1
        assert len(mail.outbox) == 1

    def test_a_taken_slot_is_refused_and_leaves_nothing_behind(self, client, cast):
        offers(cast.therapist_a)
        token_from(book(client, booking_form(cast.therapist_a)))
        before = counts()
        second = book(client, booking_form(cast.therapist_a, name="Sam Other", email="sam@example.invalid"))
        assert second.status_code == 400
        assert (
            "has just been taken" in second.content.decode()
            or "Choose one of the times" in second.content.decode()
        )
        assert counts() == before

    def test_the_service_refuses_a_taken_slot_with_a_plain_message(self, cast):
        offers(cast.therapist_a)
        make = lambda name, email: services.consultation_request_book(  # noqa: E731
            visitor=services.Visitor(name=name, email=email),
            reason="",
            therapist=cast.therapist_a,
            starts_at=SLOT,
            mode="video",
            idempotency_key=uuid.uuid4(),
            manage_path=lambda t: f"/m/{t}/",
        )
        make("Robin Visitor", "robin@example.invalid")
        before = counts()
        with pytest.raises(services.Refused, match="has just been taken"):
            make("Sam Other", "sam@example.invalid")
        assert counts() == before

    @pytest.mark.parametrize(
        ("overrides", "field", "message"),
        [
            ({"name": "x" * 121}, "name", "at most 120 characters"),
            ({"reason": "y" * 501}, "reason", "at most 500 characters"),
            ({"reason": "<b>help</b>"}, "reason", "does not accept HTML"),
            ({"name": "Robin <script>"}, "name", "does not accept HTML"),
            ({"consent": None}, "consent", "agree to the privacy notice"),
            ({"email": "", "phone": ""}, None, "e-mail address or a phone number"),
            ({"mode": "phone", "phone": ""}, "phone", "give the number we should call"),
            ({"phone": "call me maybe"}, "phone", "digits only"),
            ({"slot": "not-a-slot"}, "slot", "Choose one of the times shown"),
            ({"slot": None}, "slot", "Choose a time"),
        ],
    )
    def test_invalid_input_changes_nothing_and_says_why(self, client, cast, overrides, field, message):
        offers(cast.therapist_a)
        before = counts()
        response = book(client, booking_form(cast.therapist_a, **overrides))
        assert response.status_code == 400
        assert message in response.content.decode()
        if field is not None:
            assert response.context["form"].has_error(field)
        assert counts() == before

    def test_a_time_not_offered_is_refused(self, client, cast):
        offers(cast.therapist_a)
        before = counts()
        odd = SLOT + dt.timedelta(minutes=7)
        response = book(client, booking_form(cast.therapist_a, starts_at=odd))
        assert (
            response.status_code == 400 and "not one of the consultation slots" in response.content.decode()
        )
        outsider = book(client, booking_form(cast.therapist_b))  # Theo offers no consultations
        assert outsider.status_code == 400
        assert counts() == before

    def test_the_honeypot_looks_accepted_but_stores_nothing(
        self, client, cast, django_capture_on_commit_callbacks
    ):
        offers(cast.therapist_a)
        before, events = counts(), AuditEvent.objects.count()
        response = book(
            client,
            booking_form(cast.therapist_a, website="http://spam.example"),
            django_capture_on_commit_callbacks,
        )
        assert response.status_code == 200 and "Thank you" in response.content.decode()
        assert counts() == before and AuditEvent.objects.count() == events
        assert mail.outbox == []

    def test_one_open_booking_per_contact(self, client, cast):
        offers(cast.therapist_a)
        token_from(book(client, booking_form(cast.therapist_a)))
        before = counts()
        again = book(client, booking_form(cast.therapist_a, starts_at=LATER, email="ROBIN@example.invalid"))
        # No oracle: the page is the one any request taken in gets, and says nothing about a booking;
        # only the address's owner is told why, by e-mail, from the worker.
        honeypot = book(client, booking_form(cast.therapist_a, website="http://spam.example"))
        assert again.status_code == 200 and again.content == honeypot.content
        assert "already" not in again.content.decode()
        assert counts() == before
        assert mail.outbox == []
        told = deliver()
        assert [m.to for m in told] == [["robin@example.invalid"]]
        assert "booked for it already" in told[0].body and "Robin" not in told[0].body

    def test_a_flood_stops_at_the_hourly_ceiling(self, client, cast, settings):
        offers(cast.therapist_a)
        settings.PUBLIC_CONSULTATIONS_PER_HOUR = 2
        for n in range(2):
            token_from(
                book(
                    client,
                    booking_form(
                        cast.therapist_a,
                        starts_at=SLOT + dt.timedelta(minutes=20 * n),
                        email=f"v{n}@example.invalid",
                    ),
                )
            )
        before = counts()
        third = book(client, booking_form(cast.therapist_a, starts_at=LATER, email="v3@example.invalid"))
        assert third.status_code == 400 and "very busy" in third.content.decode()
        assert counts() == before

    def test_the_rate_limit_answers_429_with_a_plain_page(self, client, cast, settings):
        offers(cast.therapist_a)
        settings.PUBLIC_BOOKING_RATE = "2/h"
        statuses = [
            book(client, booking_form(cast.therapist_a, name="x" * 200)).status_code for _ in range(3)
        ]
        assert statuses == [400, 400, 429]
        response = book(client, booking_form(cast.therapist_a))
        assert response.status_code == 429 and "Too many attempts" in response.content.decode()
        assert response["Retry-After"] == "3600"
        assert ConsultationRequest.objects.count() == 0
        # Another address is not affected.
        other = client.post(URL, booking_form(cast.therapist_a), REMOTE_ADDR="198.51.100.7")
        assert other.status_code == 302


@pytest.mark.django_db
class TestLinks:
    def _booked(self, client, cast) -> str:
        offers(cast.therapist_a)
        return token_from(book(client, booking_form(cast.therapist_a)))

    def manage(self, token: str) -> str:
        return reverse("public:consultation_manage", kwargs={"token": token})

    def test_cancel_frees_the_slot_closes_the_case_and_spends_the_link(self, client, cast):
        token = self._booked(client, cast)
        assert client.get(self.manage(token)).status_code == 200
        response = client.post(self.manage(token), {"action": "cancel"})
        assert response.status_code == 200 and "Your consultation is cancelled" in response.content.decode()
        booked = ConsultationRequest.objects.get()
        assert booked.status == RequestStatus.CANCELLED
        assert booked.appointment.status == AppointmentStatus.CANCELLED
        # The change history keeps the cancellation, made by the client rather than a member of staff.
        change = booked.appointment.changes.get()
        assert change.kind == "cancelled" and change.by is None and "visitor" in change.reason
        assert Occupancy.objects.count() == 0
        assert booked.case.phase == Phase.CLOSED
        again = client.post(self.manage(token), {"action": "cancel"})
        assert again.status_code == 410 and "cancelled already" in again.content.decode()
        assert client.get(self.manage(token)).status_code == 410

    def test_a_forged_or_changed_link_is_refused(self, client, cast):
        token = self._booked(client, cast)
        booked = ConsultationRequest.objects.get()
        forged = signing.TimestampSigner(salt="someone-else").sign(f"{booked.pk}.{booked.link_nonce}")
        tampered = token.replace(f"{booked.pk}.", f"{booked.pk + 1}.", 1)
        for bad in (forged, tampered, "nonsense", token[:-2]):
            response = client.post(self.manage(bad), {"action": "cancel"})
            assert response.status_code == 410 and "not valid" in response.content.decode()
        assert ConsultationRequest.objects.get().status == RequestStatus.NEW

    def test_an_expired_link_is_refused(self, client, cast):
        token = self._booked(client, cast)
        with time_machine.travel(SLOT + dt.timedelta(minutes=1), tick=False):
            started = client.post(self.manage(token), {"action": "cancel"})
        assert started.status_code == 410 and "no longer works" in started.content.decode()
        later = time_machine.travel(NOW + dt.timedelta(days=31), tick=False)
        with later, pytest.raises(services.LinkInvalid, match="expired"):
            services.request_by_token(token, now=NOW)
        assert ConsultationRequest.objects.get().status == RequestStatus.NEW

    def test_reschedule_moves_atomically_and_replaces_the_link(
        self, client, cast, django_capture_on_commit_callbacks
    ):
        token = self._booked(client, cast)
        data = booking_form(cast.therapist_a, starts_at=LATER)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                self.manage(token), {"action": "reschedule", "mode": "phone", "slot": data["slot"]}
            )
        new_token = token_from(response)
        booked = ConsultationRequest.objects.get()
        assert booked.starts_at == LATER and booked.mode == "phone"
        assert Appointment.objects.filter(status=AppointmentStatus.BOOKED).get().starts_at == LATER
        assert Appointment.objects.filter(status=AppointmentStatus.CANCELLED).count() == 1
        assert "has moved" in mail.outbox[-1].subject
        old = client.post(self.manage(token), {"action": "cancel"})
        assert old.status_code == 410 and "replaced by a newer one" in old.content.decode()
        assert client.get(self.manage(new_token)).status_code == 200

    def test_reschedule_to_a_taken_slot_keeps_the_old_booking(self, client, cast):
        token = self._booked(client, cast)
        other = book(
            client,
            booking_form(cast.therapist_a, starts_at=LATER, name="Sam Other", email="sam@example.invalid"),
        )
        token_from(other)
        before = counts()
        response = client.post(
            self.manage(token),
            {
                "action": "reschedule",
                "mode": "video",
                "slot": booking_form(cast.therapist_a, starts_at=LATER)["slot"],
            },
        )
        assert response.status_code == 400 and "has just been taken" in response.content.decode()
        assert counts() == before
        mine = ConsultationRequest.objects.get(email="robin@example.invalid")
        assert mine.starts_at == SLOT and mine.appointment.status == AppointmentStatus.BOOKED
        assert client.get(self.manage(token)).status_code == 200  # the link still works


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: real concurrent connections")
@pytest.mark.django_db(transaction=True)
def test_visitors_racing_for_one_slot_end_with_one_booking(cast):
    offers(cast.therapist_a)
    visitors = 6
    barrier = threading.Barrier(visitors)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(n: int) -> None:
        try:
            barrier.wait()
            services.consultation_request_book(
                visitor=services.Visitor(name=f"Visitor {n}", email=f"v{n}@example.invalid"),
                reason="",
                therapist=cast.therapist_a,
                starts_at=SLOT,
                mode="video",
                idempotency_key=uuid.uuid4(),
                manage_path=lambda t: f"/m/{t}/",
            )
            result = "booked"
        except services.Refused as refusal:
            result = str(refusal)
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(visitors)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("booked") == 1
    assert all(o == services.TAKEN for o in outcomes if o != "booked")
    assert ConsultationRequest.objects.count() == 1
    assert Case.objects.filter(phase=Phase.CONSULTATION).count() == 1
    assert Appointment.objects.filter(kind="consultation").count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: real concurrent connections")
@pytest.mark.django_db(transaction=True)
def test_the_same_form_racing_itself_books_once(cast):
    offers(cast.therapist_a)
    key = uuid.uuid4()
    barrier = threading.Barrier(4)
    pks: list[int] = []
    lock = threading.Lock()

    def attempt() -> None:
        try:
            barrier.wait()
            booked = services.consultation_request_book(
                visitor=services.Visitor(name="Robin Visitor", email="robin@example.invalid"),
                reason="",
                therapist=cast.therapist_a,
                starts_at=SLOT,
                mode="video",
                idempotency_key=key,
                manage_path=lambda t: f"/m/{t}/",
            )
            with lock:
                pks.append(booked.pk)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(pks) == 4 and len(set(pks)) == 1
    assert (
        ConsultationRequest.objects.count() == 1
        and Appointment.objects.count() == 1
        and Client.objects.filter(email="robin@example.invalid").count() == 1
    )


@pytest.mark.django_db
def test_the_e_mailed_link_names_the_address_the_visitor_used(
    client, cast, settings, django_capture_on_commit_callbacks
):
    # Served on another port than the configured one (as `make run PORT=8123` does): the link follows
    # the request, not the setting.
    settings.PORTAL_BASE_URL = "http://127.0.0.1:8000"
    offers(cast.therapist_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, booking_form(cast.therapist_a), headers={"host": "localhost:8123"})
    token = token_from(response)
    (sent,) = mail.outbox
    assert f"http://localhost:8123/consultation/manage/{token}/" in sent.body
    assert ":8000" not in sent.body
