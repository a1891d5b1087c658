"""The coordinator plans the intensive waiting list: starts a run, watches it finish without reloading,
reviews the proposal with its comparison to first come, first served, and books it."""

import datetime as dt
import re

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from tandem.lib.time import local_today
from tandem.planning.services import run_pending
from tandem.scheduling.models import Appointment, AppointmentKind
from tests.cast import PASSWORD, build_cast
from tests.planning_support import plan_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page: Page, base: str, username: str, device: TOTPDevice) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    code = TOTP(device.bin_key, device.step, device.t0, device.digits).token()
    page.get_by_label("Six-digit code from your authenticator app").fill(f"{code:06d}")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Today")


def test_planner_journey(live_server, migration_data, desktop: Page):
    cast = build_cast()
    plan_for(cast.couple_case, cast.director)
    device = TOTPDevice.objects.create(user=cast.coordinator, name="phone", confirmed=True)
    base = live_server.url
    # A Monday at least a week ahead, and eight weeks from it.
    first = local_today() + dt.timedelta(days=7)
    first += dt.timedelta(days=-first.weekday() % 7)
    last = first + dt.timedelta(weeks=8)

    log_in(desktop, base, cast.coordinator.username, device)
    desktop.get_by_role("link", name="Intensive planner").click()
    expect(desktop.get_by_role("heading", level=1)).to_have_text("Intensive planner")
    expect(desktop.locator("main")).to_contain_text("1 case on the intensive waiting list")
    desktop.get_by_label("First day").fill(first.isoformat())
    desktop.get_by_label("Last day").fill(last.isoformat())
    desktop.get_by_label("Solver time (seconds)").fill("5")
    desktop.get_by_role("button", name="Start planning").click()
    expect(desktop.get_by_role("heading", level=1)).to_contain_text("Planning run #")
    expect(desktop.locator("#run-body")).to_contain_text("Queued")

    # The worker runs beside the server; the page polls and shows the proposal by itself.
    assert run_pending(worker="journey") == 1
    expect(desktop.get_by_role("heading", name="Proposed blocks (1)")).to_be_visible(timeout=15_000)
    main = desktop.locator("main")
    expect(main).to_contain_text(cast.couple_case.reference or "")
    expect(main).to_contain_text("First come, first served")
    expect(main).to_contain_text("Every couple on the waiting list is in the proposal.")
    expect(desktop.get_by_role("checkbox", name=re.compile("Accept the block for"))).to_be_checked()

    desktop.get_by_role("button", name="Accept and book the ticked blocks").click()
    expect(desktop.get_by_role("status").first).to_contain_text("All 1 blocks are booked.")
    expect(main).to_contain_text("Booked")
    assert Appointment.objects.filter(case=cast.couple_case, kind=AppointmentKind.INTENSIVE).count() == 10
