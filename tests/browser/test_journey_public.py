"""A visitor on a phone reads about the formats, books a free consultation and gets the confirmation;
the coordinator converts it into a case. Every public page passes axe-core without serious violations."""

import re

import pytest
from django.core import mail
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from tandem.cases.models import Phase
from tandem.public.models import ConsultationRequest, RequestStatus
from tandem.public.urls import PUBLIC_PAGES
from tests.browser.axe_support import axe_problems
from tests.cast import PASSWORD, build_cast
from tests.public_support import offers

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _code(device: TOTPDevice) -> str:
    return f"{TOTP(device.bin_key, device.step, device.t0, device.digits).token():06d}"


def test_visitor_books_and_coordinator_converts(live_server, migration_data, phone: Page, desktop: Page):
    cast = build_cast()
    offers(cast.therapist_a)
    base = live_server.url

    phone.goto(f"{base}/", timeout=60_000)  # the first request imports every app's views
    expect(phone.get_by_role("heading", level=1)).to_contain_text("in plain words")
    phone.get_by_role("navigation", name="Main").get_by_role("link", name="Intensive or weekly").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text(
        "Two ways to work with us: intensive or weekly"
    )
    expect(phone.locator("main")).to_contain_text("up to two hours a day")
    assert axe_problems(phone) == []
    phone.get_by_role("link", name="Book a free 20-minute consultation").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Book a free 20-minute consultation")
    phone.get_by_label("Video call").check()
    phone.get_by_label(re.compile(r"\d\d:\d\d with Tess")).first.check()
    phone.get_by_label("Your name").fill("Robin Visitor")
    phone.get_by_label("E-mail address").fill("robin@example.invalid")
    phone.get_by_label(re.compile("What would you like to talk about")).fill("We have drifted apart.")
    phone.get_by_label(re.compile("I have read the privacy notice")).check()
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert axe_problems(phone) == []
    phone.get_by_role("button", name="Book this consultation").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Your free consultation is booked")
    expect(phone.get_by_role("status")).to_contain_text("Video call")
    assert axe_problems(phone) == []
    phone.get_by_role("link", name="Cancel or change my consultation").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Your free consultation")
    assert axe_problems(phone) == []

    request = ConsultationRequest.objects.get()
    assert request.case is not None and request.case.phase == Phase.CONSULTATION
    (sent,) = mail.outbox
    assert sent.to == ["robin@example.invalid"] and "/consultation/manage/" in sent.body
    assert "drifted" not in sent.body

    device = TOTPDevice.objects.create(user=cast.coordinator, name="phone", confirmed=True)
    desktop.goto(f"{base}{reverse('accounts:login')}")
    desktop.get_by_label("User name").fill(cast.coordinator.username)
    desktop.get_by_label("Password").fill(PASSWORD)
    desktop.get_by_role("button", name="Log in").click()
    desktop.get_by_label("Six-digit code from your authenticator app").fill(_code(device))
    desktop.get_by_role("button", name="Continue").click()
    expect(desktop.get_by_role("heading", level=1)).to_contain_text("Today")
    expect(desktop.locator("main")).to_contain_text("1 new consultation request")
    desktop.get_by_role("link", name="Inbox", exact=True).first.click()
    expect(desktop.get_by_role("heading", level=1)).to_have_text("Inbox")
    desktop.get_by_role("row", name=re.compile("Robin Visitor")).get_by_role("link").first.click()
    expect(desktop.get_by_role("heading", level=1)).to_have_text("Free consultation: Robin Visitor")
    desktop.get_by_role("button", name="Convert to a case in intake").click()
    expect(desktop.get_by_role("status")).to_contain_text("moved to intake")
    request.refresh_from_db()
    assert request.status == RequestStatus.CONVERTED
    assert request.case is not None and request.case.phase == Phase.INTAKE


def test_public_pages_have_no_serious_accessibility_violations(live_server, migration_data, phone: Page):
    cast = build_cast()
    offers(cast.therapist_a)
    problems: dict[str, list[str]] = {}
    phone.goto(f"{live_server.url}/", timeout=60_000)
    for name in [*PUBLIC_PAGES, "contact_sent"]:
        phone.goto(f"{live_server.url}{reverse(f'public:{name}')}")
        found = axe_problems(phone)
        if found:
            problems[name] = found
    # A form sent back with errors is a page too.
    phone.goto(f"{live_server.url}{reverse('public:contact')}")
    phone.get_by_role("button", name="Send message").click()
    expect(phone.locator(".errorlist").first).to_be_visible()
    if found := axe_problems(phone):
        problems["contact with errors"] = found
    assert problems == {}
