"""Two co-therapists: one writes and signs the session note, the other co-signs it and amends it twice."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from tandem.records.models import NoteAmendment, SessionNote
from tandem.scheduling.models import Appointment, AppointmentKind
from tests.cast import PASSWORD, build_cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _code(device: TOTPDevice) -> str:
    return f"{TOTP(device.bin_key, device.step, device.t0, device.digits).token():06d}"


def staff_log_in(page: Page, base: str, username: str, device: TOTPDevice) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_label("Six-digit code from your authenticator app").fill(_code(device))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Today")


def amend(page: Page, text: str, reason: str) -> None:
    page.get_by_role("textbox", name=re.compile("^Amendment")).fill(text)
    page.get_by_label("Reason for the amendment").fill(reason)
    page.get_by_role("button", name="Add amendment").click()
    expect(page.get_by_role("status")).to_contain_text("Amendment added")


def test_cotherapists_write_sign_cosign_and_amend(live_server, migration_data, desktop: Page, phone: Page):
    cast = build_cast()
    start = timezone.now() - dt.timedelta(hours=3)
    session = Appointment.objects.create(
        case=cast.couple_case,
        kind=AppointmentKind.STANDARD,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=1),
    )
    session.therapists.set([cast.therapist_a, cast.cotherapist])
    tess = TOTPDevice.objects.create(user=cast.therapist_a, name="phone", confirmed=True)
    colin = TOTPDevice.objects.create(user=cast.cotherapist, name="phone", confirmed=True)
    base = live_server.url
    for page in (desktop, phone):
        page.set_default_timeout(30_000)  # the shared test machine can be slow; the steps are not

    # Tess writes the note from the DAP template and signs it.
    staff_log_in(desktop, base, cast.therapist_a.username, tess)
    desktop.goto(f"{base}/cases/{cast.couple_case.pk}/")
    desktop.get_by_role("link", name="Session notes").click()
    expect(desktop.get_by_role("heading", level=1)).to_contain_text("Session notes of")
    desktop.get_by_role("link", name=re.compile("Write the note")).click()
    desktop.get_by_label("DAP", exact=True).check()
    desktop.get_by_role("button", name="Start the note").click()
    desktop.get_by_label("Who attended").select_option(label="Joint session (both partners)")
    desktop.get_by_label(re.compile("^Data")).fill("Both partners described a calmer week.")
    desktop.get_by_label(re.compile("^Assessment")).fill("Less escalation; repair attempts landed.")
    desktop.get_by_label(re.compile("^Plan")).fill("Continue sensate focus stage 1.")
    desktop.get_by_role("button", name="Save draft").click()
    expect(desktop.get_by_role("status")).to_contain_text("Draft saved")
    desktop.get_by_role("button", name="Sign the note").click()
    expect(desktop.get_by_role("status")).to_contain_text("Note signed")
    main = desktop.locator("main")
    expect(main).to_contain_text("waiting for the co-signature")
    expect(desktop.get_by_role("link", name="Edit the draft")).to_have_count(0)

    # Colin finds it on his Today page (on a phone), co-signs it and adds two amendments.
    staff_log_in(phone, base, cast.cotherapist.username, colin)
    to_sign = phone.get_by_role("region", name="Notes to sign")
    expect(to_sign).to_contain_text("Waiting for your co-signature")
    to_sign.get_by_role("link", name=re.compile("Alex Partner & Blair Partner")).click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text("DAP note")
    phone.get_by_role("button", name="Co-sign the note").click()
    expect(phone.get_by_role("status")).to_contain_text("Note co-signed")
    expect(phone.locator("main")).to_contain_text("co-signed by Colin Cotherapist")
    amend(phone, "Partner B also reported better sleep.", "Detail missed at signing")
    amend(phone, "Homework is three times, not two.", "Corrected the plan")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    items = phone.locator("ol.amendments > li")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text("Partner B also reported better sleep.")
    expect(items.nth(1)).to_contain_text("Homework is three times, not two.")
    expect(items.nth(0)).to_contain_text("Colin Cotherapist")

    # The signed text cannot be edited: no edit form, and the edit address sends you back.
    note = SessionNote.objects.get()
    expect(phone.get_by_role("link", name="Edit the draft")).to_have_count(0)
    phone.goto(f"{base}/records/notes/{note.pk}/edit/")
    expect(phone.get_by_role("status")).to_contain_text("signed and locked")
    expect(phone.locator("textarea[name=s0]")).to_have_count(0)
    expect(phone.locator("main")).to_contain_text("Both partners described a calmer week.")

    desktop.reload()
    expect(desktop.locator("ol.amendments > li")).to_have_count(2)
    note.refresh_from_db()
    assert note.signed_by == cast.therapist_a and note.cosigned_by == cast.cotherapist
    assert list(NoteAmendment.objects.order_by("at").values_list("author__username", flat=True)) == [
        cast.cotherapist.username,
        cast.cotherapist.username,
    ]
