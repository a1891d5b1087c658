"""A therapist takes a couple from intake through assessment (with a urology referral and its result) to an
intensive plan, finishes it and sees the follow-up schedule; the timeline shows each step."""

import re

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from tandem.cases.models import Case, Phase
from tandem.pathway.models import IntakeRecord, SpecialistType
from tandem.scheduling.models import AppointmentKind
from tests.browser.test_journey_case import log_in
from tests.cast import PASSWORD, build_cast
from tests.pathway_support import session

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def warm_up(page: Page, base: str) -> None:
    """The live server imports every app's views on its first request, which can take longer than a
    step's timeout on a busy machine: pay for it once, with room to spare."""
    page.goto(f"{base}/accounts/login/", timeout=120_000)


SAFETY = (
    "Are you ever afraid of your partner?",
    "Have you been pressured or forced into sexual activity?",
    "Have you had thoughts of harming yourself recently?",
)


def test_therapist_takes_a_couple_along_the_pathway(live_server, migration_data, desktop: Page):
    cast = build_cast()
    # A transactional test before this one may have flushed the rows the data migration seeded.
    SpecialistType.objects.get_or_create(slug="urologist", defaults={"label": "Urologist"})
    case = cast.couple_case
    Case.objects.filter(pk=case.pk).update(phase=Phase.INTAKE)
    therapist = cast.therapist_a
    page, base = desktop, live_server.url
    warm_up(page, base)
    log_in(
        page, base, therapist.username, TOTPDevice.objects.create(user=therapist, name="p", confirmed=True)
    )
    case_url = f"{base}/cases/{case.pk}/"
    page.goto(case_url)

    for partner in case.partners:
        page.get_by_role("link", name=f"Record intake of {partner.full_name}").click()
        page.get_by_label("Contact details and date of birth confirmed with them").check()
        page.get_by_label("Presenting concerns, in their own words").fill("We have drifted apart.")
        for question in SAFETY:
            page.get_by_role("group", name=question).get_by_label("No", exact=True).check()
        page.get_by_role("button", name="Save").click()
        page.get_by_role("link", name=f"Record consent of {partner.full_name}").click()
        page.get_by_label("They have read the consent to treatment and agreed to it").check()
        page.get_by_role("button", name="Record consent").click()
        expect(page.locator(".messages")).to_contain_text("Consent to treatment")

    page.get_by_role("link", name="Start assessment").click()
    page.get_by_role("button", name="Start assessment").click()
    expect(page.locator(".messages")).to_contain_text("now in assessment")

    # Sessions are booked and marked attended by the scheduling work; here they are made directly.
    session(case, AppointmentKind.JOINT_ASSESSMENT, therapist=therapist, days_ago=9)
    for partner in case.partners:
        session(
            case, AppointmentKind.INDIVIDUAL_ASSESSMENT, therapist=therapist, days_ago=5, for_client=partner
        )

    page.goto(case_url)
    page.get_by_role("link", name="Refer to a specialist").click()
    page.get_by_label("Who is referred").select_option(label="Alex Partner")
    page.get_by_label("Specialist or service").select_option(label="Urologist")
    page.get_by_label("Reason for the referral").fill(
        "Erectile difficulty; please rule out a vascular cause."
    )
    page.get_by_role("button", name="Make referral").click()
    page.get_by_role("link", name="Record result").click()
    page.get_by_label("The specialist's finding").fill("Normal vascular study.")
    page.get_by_label("Physical cause ruled out").check()
    page.get_by_role("button", name="Record result").click()
    expect(page.get_by_role("region", name="Referrals")).to_contain_text("Physical cause ruled out")

    page.get_by_role("link", name="Write the treatment plan").click()
    page.get_by_label("Intensive (co-therapy team, daily sessions)").check()
    page.get_by_label("Goals").fill("Restore closeness; reduce performance anxiety.")
    page.get_by_role("button", name="Save").click()

    page.get_by_role("link", name="Start treatment").click()
    page.get_by_role("button", name="Start treatment").click()
    page.get_by_role("link", name="Finish treatment, start follow-up").click()
    page.get_by_label("Telephone contact").check()
    page.get_by_role("button", name="Finish treatment, start follow-up").click()

    follow_up = page.get_by_role("region", name="Follow-up")
    for label in ("2-week follow-up", "1-month follow-up", "3-month follow-up", "6-month follow-up"):
        expect(follow_up).to_contain_text(label)
    timeline = page.get_by_role("region", name="Timeline")
    for step in (
        "Intake → Assessment",
        "Joint assessment",
        "Referral sent: Urologist for Alex Partner",
        "Referral result: Urologist for Alex Partner",
        "Treatment plan version 1: Intensive",
        "Assessment → Treatment",
        "Treatment → Follow-up",
    ):
        expect(timeline).to_contain_text(step)


def _portal_log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{base}/portal/")


def test_partners_fill_in_their_own_intake_and_a_risk_answer_reaches_the_therapist(
    live_server, migration_data, desktop: Page, phone: Page
):
    cast = build_cast()
    case = cast.couple_case
    Case.objects.filter(pk=case.pk).update(phase=Phase.INTAKE)
    base = live_server.url
    warm_up(phone, base)

    _portal_log_in(phone, base, cast.partner_a.username)
    phone.get_by_role("link", name="Fill in my intake form").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("About you")
    phone.get_by_label("What would you like us to call you?").fill("Lex")
    phone.get_by_label("These details about me are correct").check()
    phone.get_by_label("What would you like help with, in your own words?").fill("ALEX-OWN-WORDS")
    for question in ("Are you ever afraid", "Has anyone pressured", "Have you recently had thoughts"):
        phone.get_by_role("group", name=re.compile(question)).get_by_label("No", exact=True).check()
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    phone.get_by_role("button", name="Save my answers").click()
    expect(phone.get_by_role("status")).to_contain_text("only your therapist reads them")
    phone.get_by_role("button", name="Log out").click()

    _portal_log_in(phone, base, cast.partner_b.username)
    phone.get_by_role("link", name="Fill in my intake form").click()
    # Blair's form starts empty: nothing of Alex's answers is there.
    expect(phone.locator("main")).not_to_contain_text("ALEX-OWN-WORDS")
    phone.get_by_label("What would you like help with, in your own words?").fill("BLAIR-OWN-WORDS")
    phone.get_by_role("group", name=re.compile("Has anyone pressured")).get_by_label(
        "Yes", exact=True
    ).check()
    phone.get_by_role("button", name="Save my answers").click()
    expect(phone.get_by_role("status")).to_contain_text("Thank you")
    phone.get_by_role("button", name="Log out").click()
    assert IntakeRecord.objects.filter(case=case, entered_by="client").count() == 2

    therapist = cast.therapist_a
    log_in(
        desktop, base, therapist.username, TOTPDevice.objects.create(user=therapist, name="p", confirmed=True)
    )
    today = desktop.locator("main")
    expect(today).to_contain_text("Safety answers to review")
    desktop.get_by_role("link", name=case.display_name).first.click()
    expect(desktop.locator("main")).to_contain_text("safety answer to review")
    desktop.get_by_role("button", name="Mark reviewed for Blair Partner").click()
    expect(desktop.get_by_role("status")).to_contain_text("marked as reviewed")
    desktop.goto(f"{base}/")
    expect(desktop.locator("main")).not_to_contain_text("Safety answers to review")
