"""A partner fills in the CSI-16 on a phone; the therapist sees the score on the chart beside the other's."""

import re

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from tandem.measures.loader import load_instruments
from tandem.measures.models import MeasureRequest, Response
from tandem.measures.schedule import measures_schedule_for_case
from tests.browser.test_journey_homework import staff_log_in
from tests.cast import PASSWORD, build_cast
from tests.measures_support import csi16, record

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_csi16_journey(live_server, migration_data, desktop: Page, phone: Page):
    # Import the URLconf here, not in the server's first request: it pulls in heavy modules (OR-Tools)
    # that take longer than a page load may on a busy machine.
    results_path = reverse("measures:case", kwargs={"case_id": 1})
    assert results_path.startswith("/measures/")
    cast = build_cast()
    load_instruments()
    case = cast.couple_case
    measures_schedule_for_case(case.pk)
    # Alex answered a month ago (entered by the therapist from a paper form).
    record(cast.therapist_a, case, case.partner_a, "CSI16", csi16(40), days_ago=30)
    device = TOTPDevice.objects.create(user=cast.therapist_a, name="phone", confirmed=True)
    base = live_server.url

    phone.goto(f"{base}/accounts/login/")
    phone.get_by_label("User name").fill(cast.partner_b.username)
    phone.get_by_label("Password").fill(PASSWORD)
    phone.get_by_role("button", name="Log in").click()
    phone.goto(f"{base}/portal/")
    phone.get_by_role("link", name="Couples Satisfaction Index (CSI-16)").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Couples Satisfaction Index (CSI-16)")
    # Send with one question open first: it is named, nothing is saved.
    for n in range(1, 16):
        phone.get_by_role("group", name=re.compile(rf"^{n}\. ")).get_by_label(
            "5" if n == 1 else "4", exact=True
        ).check()
    phone.get_by_role("button", name="Send my answers").click()
    expect(phone.locator("main")).to_contain_text("Please choose an answer to question 16.")
    assert not Response.objects.filter(client=case.partner_b).exists()
    phone.get_by_role("group", name=re.compile(r"^16\. ")).get_by_label("4", exact=True).check()
    # The phone layout never needs sideways scrolling.
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    phone.get_by_role("button", name="Send my answers").click()
    expect(phone.get_by_role("status")).to_contain_text("Thank you")
    saved = Response.objects.get(client=case.partner_b, instrument__code="CSI16")
    assert saved.total == 65 and saved.band == "not_distressed"
    assert MeasureRequest.objects.get(client=case.partner_b, instrument__code="CSI16").response == saved

    staff_log_in(desktop, base, cast.therapist_a.username, device)
    desktop.goto(f"{base}/cases/{case.pk}/")
    desktop.get_by_role("link", name="Outcome measures and results").click()
    chart = desktop.get_by_role("img", name=re.compile("CSI-16.*Alex and Blair"))
    expect(chart).to_be_visible()
    expect(chart).to_contain_text("cut-off 51.5")
    section = desktop.locator("section", has=chart)
    expect(section).to_contain_text("Alex: 1 scored response, from 40 (distressed)")
    expect(section).to_contain_text("Blair: 1 scored response, from 65 (not distressed)")
    section.get_by_text("Scores as a table").click()
    table = section.get_by_role("table")
    expect(table.get_by_role("row", name=re.compile(r"Blair 65 not distressed"))).to_be_visible()
    expect(table.get_by_role("row", name=re.compile(r"Alex 40 distressed"))).to_be_visible()
