"""The front desk asks both partners for a release; Alex signs on a phone, Blair has not yet; the therapist's
release preview then leaves Blair out and says so, and the bundle downloads."""

import json
import re
from pathlib import Path

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from tandem.consents.models import Consent
from tests.browser.test_journey_homework import _code
from tests.cast import PASSWORD, build_cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECIPIENT = "Dr. Rowan Example"


def warm_up(page: Page, base: str) -> None:
    # The first request imports every app's views (the planner's solver among them), which on a busy
    # machine takes longer than a page timeout; the journey measures pages, not that one-off import.
    page.request.get(f"{base}/accounts/login/", timeout=120_000)


def log_in(page: Page, base: str, username: str, device: TOTPDevice | None = None) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    if device is not None:
        page.get_by_label("Six-digit code from your authenticator app").fill(_code(device))
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Today")


def test_release_journey(live_server, migration_data, desktop: Page, phone: Page):
    cast = build_cast()
    device = TOTPDevice.objects.create(user=cast.therapist_a, name="phone", confirmed=True)
    base = live_server.url
    warm_up(desktop, base)
    case = cast.couple_case

    log_in(desktop, base, cast.therapist_a.username, device)
    desktop.goto(f"{base}/cases/{case.pk}/")
    desktop.get_by_role("link", name="Consents and documents").click()
    for name in ("Alex Partner", "Blair Partner"):
        desktop.get_by_role("link", name="Prepare a release of information").click()
        desktop.get_by_label("Whose information").select_option(label=name)
        desktop.get_by_label("Recipient").fill(RECIPIENT)
        desktop.get_by_label("Signed session notes").check()
        desktop.get_by_label("Appointments and attendance").check()
        desktop.get_by_role("button", name="Prepare release").click()
        expect(desktop.get_by_role("status")).to_contain_text("Release of information prepared")
    assert Consent.objects.filter(case=case, signed_at__isnull=True).count() == 2

    log_in(phone, base, cast.partner_a.username)
    phone.goto(f"{base}/portal/")
    expect(phone.locator("main")).to_contain_text("1 document waits for your signature")
    phone.get_by_role("link", name="Your consents").click()
    expect(phone.locator("main")).not_to_contain_text("Blair")
    phone.get_by_role("link", name=re.compile("Read and sign")).click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Release of information")
    phone.get_by_label("I have read this text and I agree to it").check()
    phone.get_by_label("Type your full name as your signature").fill("Alex Partner")
    phone.get_by_role("button", name="Sign").click()
    expect(phone.get_by_role("status")).to_contain_text("Your signature is saved")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    desktop.goto(f"{base}/consents/case/{case.pk}/export/")
    signed_release = Consent.objects.get(case=case, signed_at__isnull=False)
    assert signed_release.client == case.partner_a and signed_release.method == "portal"
    desktop.get_by_label("Release to").select_option(value=str(signed_release.pk))
    desktop.get_by_role("button", name="Preview").click()
    expect(desktop.locator("main")).to_contain_text("Nothing about Blair Partner is included")
    with desktop.expect_download() as download:
        desktop.get_by_role("link", name="Download FHIR bundle (JSON)").click()
    bundle = json.loads(Path(download.value.path()).read_text())
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds.count("Patient") == 1
