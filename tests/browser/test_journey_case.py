"""A coordinator opens a couple case and finds it; a therapist who is not assigned cannot open it."""

import re

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from tandem.cases.models import Case
from tests.cast import PASSWORD, build_cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _code(device: TOTPDevice) -> str:
    return f"{TOTP(device.bin_key, device.step, device.t0, device.digits).token():06d}"


def log_in(page: Page, base: str, username: str, device: TOTPDevice) -> None:
    page.goto(f"{base}/accounts/login/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_label("Six-digit code from your authenticator app").fill(_code(device))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Today")


def test_coordinator_opens_case_and_outsider_cannot_see_it(live_server, migration_data, desktop: Page):
    cast = build_cast()
    coordinator_device = TOTPDevice.objects.create(user=cast.coordinator, name="phone", confirmed=True)
    outsider_device = TOTPDevice.objects.create(user=cast.therapist_b, name="phone", confirmed=True)
    page, base = desktop, live_server.url

    log_in(page, base, cast.coordinator.username, coordinator_device)
    page.get_by_role("link", name="Cases").click()
    page.get_by_role("link", name="Open a new case").click()
    page.get_by_label("A couple (both partners attend)").check()
    first, partner = page.get_by_role("group", name="First client"), page.get_by_role("group", name="Partner")
    first.get_by_label("First name").fill("Quinn")
    first.get_by_label("Last name").fill("Vantongeren")
    first.get_by_label("Email").fill("quinn@example.invalid")
    partner.get_by_label("First name").fill("Avery")
    partner.get_by_label("Last name").fill("Vantongeren")
    page.get_by_label("Co-therapy team").select_option(label=str(cast.couple_case.team))
    page.get_by_role("button", name="Open case").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Quinn Vantongeren & Avery Vantongeren")
    case = Case.objects.get(partner_a__last_name="Vantongeren")
    assert case.team_id == cast.couple_case.team_id
    case_url = page.url

    page.get_by_role("link", name="Cases").click()
    page.get_by_label("Name or reference").fill("Vantongeren")
    page.get_by_role("button", name="Search").click()
    results = page.locator("#case-results")
    expect(results).to_contain_text("1 case")
    results.get_by_role("link", name="Quinn Vantongeren & Avery Vantongeren").click()
    expect(page).to_have_url(case_url)
    assert "Vantongeren" not in page.url  # the search never travels in the address
    page.get_by_role("button", name="Log out").click()

    log_in(page, base, cast.therapist_b.username, outsider_device)
    response = page.goto(case_url)
    assert response is not None and response.status == 404
    expect(page.locator("body")).not_to_contain_text("Vantongeren")
    page.goto(f"{base}/cases/")
    page.get_by_label("Name or reference").fill("Vantongeren")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#case-results")).to_contain_text("No cases match")
