"""Therapist assigns sensate focus stage 1, each partner logs it on a phone, the therapist unlocks stage 2."""

import re

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from tandem.homework.models import Assignment, AssignmentLog
from tests.browser.test_journey_pathway import warm_up
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


def partner_logs(page: Page, base: str, username: str, *, note: str, share: bool) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{base}/portal/")
    page.get_by_role("link", name=re.compile("Write down how it went")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sensate focus, stage 1: non-genital touch")
    page.get_by_label("Yes, I did it").check()
    page.get_by_label(re.compile("How did it go")).select_option("7")
    page.get_by_label("Anything else you want to note").fill(note)
    if share:
        page.get_by_label("Let my partner see this entry").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Saved")
    expect(page.locator("main")).to_contain_text("You have done it 1 of 3 times")
    # The phone layout never needs sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.get_by_role("button", name="Log out").click()


def test_homework_journey(live_server, migration_data, desktop: Page, phone: Page):
    cast = build_cast()
    device = TOTPDevice.objects.create(user=cast.therapist_a, name="phone", confirmed=True)
    base = live_server.url
    homework_url = f"{base}/homework/cases/{cast.couple_case.pk}/"
    warm_up(desktop, base)

    staff_log_in(desktop, base, cast.therapist_a.username, device)
    desktop.goto(homework_url)
    desktop.get_by_role("combobox", name="Exercise").select_option(
        label="Sensate focus: Sensate focus, stage 1: non-genital touch"
    )
    desktop.get_by_label("For whom").select_option(label="Both partners")
    desktop.get_by_label("How many times").fill("3")
    desktop.get_by_role("button", name="Assign").click()
    expect(desktop.get_by_role("status")).to_contain_text("assigned")

    partner_logs(phone, base, cast.partner_a.username, note="Calmer than expected", share=True)
    partner_logs(phone, base, cast.partner_b.username, note="Hard to switch off", share=False)
    assert AssignmentLog.objects.count() == 2

    desktop.goto(homework_url)
    main = desktop.locator("main")
    expect(main).to_contain_text("Calmer than expected")
    expect(main).to_contain_text("Hard to switch off")
    expect(main).to_contain_text("Alex 1 of 3 done")
    expect(main).to_contain_text("Blair 1 of 3 done")
    desktop.get_by_role("button", name=re.compile("Unlock the next stage")).click()
    expect(desktop.get_by_role("status")).to_contain_text("Sensate focus, stage 2")
    assert Assignment.objects.filter(exercise__slug="sensate-focus-2", status="active").count() == 1
