"""Every staff and portal page passes axe-core at desktop width and on a 390 px phone (no serious or
critical violation), and on the phone no page is wider than the window. The pages come from the URL conf
(tests/urlwalk.py), so a new page is checked without anyone adding it here: each named URL that answers
a full HTML page with 200 to some role of the cast, once, as the first role in ROLE_ORDER that may see
it; a few pages that need a query string or a state are named in state_pages and login_flow."""

import datetime as dt
import time
from typing import Any

import pytest
from django.conf import settings
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, Page

from tandem.accounts.models import Role
from tandem.accounts.staff import staff_console_link
from tandem.cases.models import AbsentPartner, Case, Client, Phase, PhaseChange
from tandem.consents.models import ConsentKind
from tandem.lib.time import local_today
from tandem.measures.services import couple_report_share
from tandem.planning.adapter import build_instance
from tandem.planning.models import PlanningRun
from tandem.planning.services import run_pending
from tests.browser.axe_support import axe_problems
from tests.browser.conftest import PAGE_TIMEOUT_MS
from tests.cast import PASSWORD, make_user
from tests.consents_support import signed
from tests.measures_support import csi16, record
from tests.planning_support import plan_for
from tests.urlwalk import ROLES, World, client_for, routes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The assigned therapist sees the fullest version of most staff pages (every action of a case); the
# coordinator and director next; clients last, so that their portal pages are reached as the partner.
ROLE_ORDER = (
    "therapist_a",
    "coordinator",
    "director",
    "cotherapist",
    "therapist_b",
    "partner_a",
    "partner_b",
)
# Pages whose tables must fit a phone whole: every action in reach without scrolling sideways.
FIT_ON_PHONE = ("consents:", "measures:my_report")
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def fill_out(world: World) -> None:
    """Give the pages whose problems show only with content their content: a finished planning run with
    its figures, a couple report shared with both partners and scored over time, signed consents."""
    cast, case = world.cast, world.case
    for days_ago, (a, b) in enumerate(((40, 44), (52, 49), (61, 58))):
        record(cast.therapist_a, case, world.partner_a, "CSI16", csi16(a), days_ago=30 - 10 * days_ago)
        record(cast.therapist_a, case, world.partner_b, "CSI16", csi16(b), days_ago=30 - 10 * days_ago)
    couple_report_share(actor=cast.therapist_a, case=case)
    signed(case, world.partner_a, ConsentKind.TELEHEALTH, staff=cast.therapist_a)
    signed(case, world.partner_b, ConsentKind.TREATMENT, staff=cast.therapist_a)
    plan_for(case, cast.therapist_a, version=2)
    first = local_today() + dt.timedelta(days=7)
    instance = build_instance(first_day=first, last_day=first + dt.timedelta(weeks=6))
    PlanningRun.objects.filter(pk=world.run.pk).update(
        instance=instance, couples=len(instance["couples"]), time_limit=5
    )
    assert run_pending(worker="a11y") == 1
    assert PlanningRun.objects.get(pk=world.run.pk).status == "done"


def state_pages(world: World) -> list[tuple[str, str, str]]:
    """(role, name, url) of the pages the walk cannot reach by URL alone: one needs its query string,
    the other a case that has been discharged."""
    cast = world.cast
    closed = Case.objects.create(
        reference="T-0009",
        partner_a=Client.objects.create(first_name="Dale", last_name="Discharged"),
        absent_partner=AbsentPartner.UNWILLING,
        phase=Phase.DISCHARGED,
        therapist=cast.therapist_a,
        opened_on=dt.date(2026, 1, 5),
        closed_on=dt.date(2026, 6, 30),
    )
    for before, after, month in (
        ("", "intake", 1),
        ("intake", "treatment", 2),
        ("treatment", "discharged", 6),
    ):
        PhaseChange.objects.create(
            case=closed,
            from_phase=before,
            to_phase=after,
            at=timezone.make_aware(dt.datetime(2026, month, 10, 10)),
            by=cast.therapist_a,
        )
    enter = reverse("measures:enter", kwargs={"case_id": world.case.pk})
    return [
        ("therapist_a", "pathway:discharge_summary", reverse("pathway:discharge_summary", args=[closed.pk])),
        ("therapist_a", "measures:enter", f"{enter}?client={world.partner_a.pk}&code=PHQ9"),
    ]


def _check(page: Page, where: str, problems: dict[str, list[str]], *, fit: bool = False) -> None:
    """axe at both widths on the page as loaded; on the phone the page no wider than the window (and,
    where asked, no action cut off)."""
    for width, size in WIDTHS.items():
        page.set_viewport_size(size)
        found = axe_problems(page)
        if width == "phone":
            # Sideways scrolling belongs inside a table's wrapper, never to the whole page.
            wide, window = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
            if wide > window + 1:
                found.append(f"page is {wide} px wide on a {window} px phone")
        if fit and width == "phone":
            found += [f"cut off on a phone: {label}" for label in page.evaluate(CUT_OFF)]
        if found:
            problems[f"{where} at {width}"] = found


def login_flow(browser: Browser, base: str, world: World, problems: dict[str, list[str]]) -> int:
    """The second-factor pages: setting up an authenticator from a new staff member's one-time link,
    and entering its code after the password (someone who has one). Reached only through the link or by
    logging in. Returns how many."""
    newcomer = make_user("nico.newcomer", Role.THERAPIST, first="Nico", last="Newcomer")
    sent = staff_console_link(
        user=newcomer, link_for=lambda token: reverse("accounts:staff_link", args=[token])
    )
    context = browser.new_context(viewport=WIDTHS["desktop"], locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    page.goto(f"{base}{sent.link}")
    _check(page, "accounts:staff_link with a real link", problems)
    context.close()
    user = world.cast.therapist_b
    context = browser.new_context(viewport=WIDTHS["desktop"], locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    page.goto(f"{base}{reverse('accounts:login')}")
    page.get_by_label("User name").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}{reverse('accounts:verify')}*")
    _check(page, f"accounts:verify as {user.username}", problems)
    context.close()
    return 2


# Links, buttons and fields of the main content that stick out past either edge of the window.
CUT_OFF = """() => [...document.querySelectorAll('main a[href], main button, main input, main select')]
  .filter(e => e.offsetParent !== null && !e.closest('.visually-hidden'))
  .filter(e => { const r = e.getBoundingClientRect(); return r.left < -1 || r.right > innerWidth + 1; })
  .map(e => (e.innerText || e.name || e.type || e.tagName).trim().slice(0, 40))"""


def _is_page(response: Any) -> bool:
    """A whole HTML document: htmx fragments are checked inside the pages that include them."""
    return (
        response.status_code == 200
        and response["Content-Type"].startswith("text/html")
        and b"<html" in response.content[:1000].lower()
    )


def html_pages(world: World, clients: dict[str, HttpClient]) -> dict[str, list[tuple[str, str]]]:
    """{role: [(route name, url)]}: every full page some role of the cast gets, under the first such role."""
    pages: dict[str, list[tuple[str, str]]] = {role: [] for role in ROLE_ORDER}
    for route in routes():
        url = world.url(route)
        for role in ROLE_ORDER:
            if _is_page(clients[role].get(url)):
                pages[role].append((route.name, url))
                break
    return pages


def _logged_in(browser: Browser, base: str, client: HttpClient) -> BrowserContext:
    """A browser context that carries the test client's session (password and second factor done)."""
    context = browser.new_context(viewport=WIDTHS["desktop"], locale="en-GB")
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": base}])
    return context


def test_every_staff_and_portal_page_passes_axe_at_both_widths(live_server, migration_data, browser):
    assert set(ROLE_ORDER) == set(ROLES)
    world = World()
    fill_out(world)
    clients = {role: client_for(world.cast, role) for role in ROLE_ORDER}
    started = time.monotonic()
    pages = html_pages(world, clients)
    for role, name, url in state_pages(world):
        pages[role].append((name, url))
    found = time.monotonic()
    problems: dict[str, list[str]] = {}
    for role, entries in pages.items():
        if not entries:
            continue
        context = _logged_in(browser, live_server.url, clients[role])
        page = context.new_page()
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        for name, url in entries:
            page.set_viewport_size(WIDTHS["desktop"])
            response = page.goto(f"{live_server.url}{url}", timeout=60_000)
            assert response is not None and response.status == 200, f"{name} as {role}: {url}"
            _check(page, f"{name} as {role}", problems, fit=name.startswith(FIT_ON_PHONE))
        context.close()
    count = sum(len(entries) for entries in pages.values())
    count += login_flow(browser, live_server.url, world, problems)
    by_role = ", ".join(f"{role} {len(entries)}" for role, entries in pages.items() if entries)
    print(
        f"axe: {count} pages ({by_role}, login flow 2) at {len(WIDTHS)} widths; "
        f"found in {found - started:.1f} s, checked in {time.monotonic() - found:.1f} s"
    )
    assert count > 50, pages
    assert problems == {}, "\n".join(f"{where}: {found}" for where, found in problems.items())
