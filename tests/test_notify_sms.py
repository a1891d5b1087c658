"""Text messages: only where the practice turned them on and the client chose them; no clinical detail."""

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from tandem.notify import sms
from tandem.notify.models import Job, Preference
from tandem.notify.services import run_once
from tandem.scheduling.models import Appointment, AppointmentKind
from tests.cast import login

PHONE = "555-0163"


@pytest.fixture
def texts(settings):
    settings.TANDEM_SMS_ENABLED = True
    settings.TANDEM_SMS_BACKEND = "tandem.notify.sms.LocmemBackend"
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


@pytest.fixture
def reminder(cast):
    """Alex wants texts and has a number; an appointment starts in ten hours."""
    client = cast.couple_case.partner_a
    client.phone = PHONE
    client.save()
    cast.partner_a.email = "alex@example.invalid"
    cast.partner_a.save()
    cast.partner_b.email = ""  # Blair is reached by nothing: only Alex's messages are counted below
    cast.partner_b.save()
    Preference.objects.create(user=cast.partner_a, sms=True)
    start = timezone.now() + dt.timedelta(hours=10)
    appointment = Appointment.objects.create(
        case=cast.couple_case,
        kind=AppointmentKind.INTENSIVE,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=2),
    )
    appointment.attendees.set(cast.couple_case.partners)
    return appointment


def test_text_and_email_once_with_no_clinical_detail(cast, texts, reminder):
    run_once(worker="w")
    run_once(worker="w")
    assert [t.to for t in texts] == [PHONE]
    body = texts[0].body
    assert "/portal/" in body and "appointment" in body
    for clinical in ("Intensive", "intensive", "Tess", "Colin", "therap", "T-0001", "Alex", "sensate"):
        assert clinical not in body
    assert [m.to for m in mail.outbox] == [["alex@example.invalid"]]
    assert Job.objects.get(user=cast.partner_a).sent_at is not None


def test_text_only_when_email_is_off(cast, texts, reminder):
    Preference.objects.filter(user=cast.partner_a).update(email=False)
    run_once(worker="w")
    assert len(texts) == 1 and mail.outbox == []


def test_no_text_where_the_practice_has_not_turned_texts_on(cast, settings, texts, reminder):
    settings.TANDEM_SMS_ENABLED = False
    Preference.objects.filter(user=cast.partner_a).update(email=False)
    run_once(worker="w")
    assert texts == [] and mail.outbox == []
    assert Job.objects.get(user=cast.partner_a).skipped == "switched off by the client"


def test_no_text_without_a_number(cast, texts, reminder):
    cast.couple_case.partner_a.phone = ""
    cast.couple_case.partner_a.save()
    run_once(worker="w")
    assert texts == [] and len(mail.outbox) == 1


def test_reminder_page_offers_texts_only_when_the_channel_is_on(client, cast, settings):
    login(client, cast.partner_a)
    url = reverse("portal:reminders")
    settings.TANDEM_SMS_ENABLED = False
    assert "Send me text messages" not in client.get(url).content.decode()
    settings.TANDEM_SMS_ENABLED = True
    assert "Send me text messages" in client.get(url).content.decode()
    saved = client.post(url, {"email": "on", "sms": "on", "appointment_reminders": "on"})
    assert saved.status_code == 302, saved.content.decode()[-3000:]
    assert Preference.objects.get(user=cast.partner_a).sms is True
    # Turned off later: saving the page keeps the earlier choice rather than silently dropping it.
    settings.TANDEM_SMS_ENABLED = False
    client.post(url, {"email": "on", "appointment_reminders": "on"})
    assert Preference.objects.get(user=cast.partner_a).sms is True
