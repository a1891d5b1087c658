"""The director opens the practice outcomes, filters by format and problem, and downloads the CSV."""

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from tandem.measures.loader import load_instruments
from tandem.outcomes.services import outcome_rows_refresh
from tests.browser.test_journey_homework import staff_log_in
from tests.cast import build_cast
from tests.outcomes_support import finished_couple

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_director_outcomes_journey(live_server, migration_data, desktop: Page):
    cast = build_cast()
    load_instruments()
    for n in range(6):
        finished_couple(n, cast.director, fmt="intensive", scores={"PHQ9": (15, 4)})
    for n in range(6, 12):
        finished_couple(
            n, cast.director, fmt="standard", problem="intimacy-problems", scores={"PHQ9": (12, 12)}
        )
    outcome_rows_refresh()  # the cases were written with plain model calls, not the services
    device = TOTPDevice.objects.create(user=cast.director, name="phone", confirmed=True)
    base = live_server.url

    staff_log_in(desktop, base, cast.director.username, device)
    desktop.get_by_role("link", name="Outcomes", exact=True).click()
    expect(desktop.get_by_role("heading", level=1)).to_have_text("Practice outcomes")
    desktop.get_by_role("combobox", name="Measure").select_option("PHQ9")
    desktop.get_by_role("combobox", name="Format").select_option("intensive")
    desktop.get_by_role("combobox", name="Presenting problem").select_option("low-desire")
    desktop.get_by_role("button", name="Show outcomes").click()
    partners = desktop.get_by_role("table", name="Partners by outcome on PHQ9, by format")
    expect(partners.get_by_role("row", name="All cases")).to_contain_text("12")
    expect(desktop.get_by_role("img", name="Partners by outcome on PHQ9")).to_be_visible()
    assert "Avery" not in desktop.content()

    with desktop.expect_download() as download_info:
        desktop.get_by_role("link", name="Download these tables (CSV)").click()
    download = download_info.value
    text = download.path().read_text(encoding="utf-8")
    assert "Partners by outcome,All cases,12,<5,<5,<5,<5,12" in text
    assert "format=intensive" in download.url and "problem=low-desire" in download.url
