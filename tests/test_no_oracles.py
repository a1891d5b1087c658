"""No oracles: forms that look an address up answer the same, doing the same work, whatever the address;
the lookup and the e-mail happen in the notify worker, never inside the request."""

import re

import pytest
from django.core import mail
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tandem.notify.models import Job, JobKind, JobState
from tests.cast import login
from tests.notify_support import deliver

RESET = "/accounts/password-reset/"


class NoSendingHere:
    """An e-mail backend that fails the test if anything is sent while it is in place."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def send_messages(self, messages):
        raise AssertionError("an e-mail was sent inside the request")


@pytest.fixture
def no_sending(settings):
    settings.EMAIL_BACKEND = f"{__name__}.NoSendingHere"
    yield
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def _reset(client, address: str, capture) -> tuple[bytes, list[str]]:
    with capture(execute=True), CaptureQueriesContext(connection) as queries:
        response = client.post(RESET, {"email": address}, follow=True)
    assert response.status_code == 200
    # The statements, with the literal values left out (the address itself appears in none).
    shapes = [
        re.sub(r"_x\d+", "", q["sql"].split(" VALUES ")[0].split(" WHERE ")[0])
        for q in queries.captured_queries
    ]
    return response.content, shapes


@pytest.mark.django_db
def test_reset_does_the_same_work_for_known_and_unknown_addresses_and_sends_nothing_in_the_request(
    client, cast, no_sending, settings, django_capture_on_commit_callbacks
):
    known_page, known_queries = _reset(client, cast.therapist_a.email, django_capture_on_commit_callbacks)
    unknown_page, unknown_queries = _reset(
        client, "nobody@nowhere.invalid", django_capture_on_commit_callbacks
    )
    assert known_page == unknown_page
    assert known_queries == unknown_queries
    # The typed address is stored encrypted until the worker is done with it.
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM notify_job")
        assert all("@" not in row[0] for row in cursor.fetchall())
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert [m.to for m in deliver()] == [[cast.therapist_a.email]]
    assert set(Job.objects.values_list("kind", "state", "secret")) == {
        (JobKind.PASSWORD_RESET, JobState.SENT, None),
        (JobKind.PASSWORD_RESET, JobState.SKIPPED, None),
    }


@pytest.mark.django_db
def test_an_invitation_to_an_address_that_has_an_account_looks_sent_and_tells_only_the_owner(
    cast, no_sending, settings, django_capture_on_commit_callbacks
):
    newcomer = cast.solo_case.partner_a
    newcomer.email = cast.partner_b.email  # the address of someone with a portal account already
    newcomer.save()
    http = login(HttpClient(), cast.coordinator)
    url = reverse("portal:invite", kwargs={"case_id": cast.solo_case.pk, "client_id": newcomer.pk})
    with django_capture_on_commit_callbacks(execute=True):
        response = http.post(url, follow=True)
    page = response.content.decode()
    assert "Invitation sent" in page and "already" not in page
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    [message] = deliver()
    assert message.to == [cast.partner_b.email]
    assert "exists already" in message.body and "/portal/" not in message.body


@pytest.mark.django_db
def test_a_queued_email_is_sent_once_and_its_secret_cleared(cast, django_capture_on_commit_callbacks):
    client = HttpClient()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(RESET, {"email": cast.partner_a.email})
    deliver()
    deliver()
    assert len(mail.outbox) == 1
    assert Job.objects.get().secret is None


class RefusingMailServer:
    def __init__(self, *args, **kwargs) -> None:
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("mail server down")


@pytest.mark.django_db
def test_a_refusing_mail_server_is_retried_then_given_up_and_the_secret_dropped(
    client, cast, settings, django_capture_on_commit_callbacks
):
    import datetime as dt

    import time_machine
    from django.utils import timezone

    from tandem.notify.services import MAX_ATTEMPTS

    with django_capture_on_commit_callbacks(execute=True):
        client.post(RESET, {"email": cast.partner_a.email})
    settings.EMAIL_BACKEND = f"{__name__}.RefusingMailServer"
    later = timezone.now()
    for _ in range(MAX_ATTEMPTS):
        later += dt.timedelta(hours=1)
        with time_machine.travel(later, tick=False):
            deliver()
    job = Job.objects.get()
    assert (job.state, job.attempts, job.last_error) == (
        JobState.SKIPPED,
        MAX_ATTEMPTS,
        "ConnectionRefusedError",
    )
    assert job.secret is None
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    deliver()
    assert mail.outbox == []
