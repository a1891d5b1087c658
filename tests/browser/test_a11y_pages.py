"""Every staff and portal page passes axe-core at desktop width and on a 390 px phone: no serious or critical
violation. The pages come from the URL conf (tests/urlwalk.py), so a new page is checked without anyone
adding it here: each named URL that answers a full HTML page with 200 to some role of the cast, once, as
the first role in ROLE_ORDER that may see it."""

import datetime as dt
import time
from typing import Any

import pytest
from django.conf import settings
from django.test import Client as HttpClient
from playwright.sync_api import Browser, BrowserContext

from tandem.consents.models import ConsentKind
from tandem.lib.time import local_today
from tandem.measures.services import couple_report_share
from tandem.planning.adapter import build_instance
from tandem.planning.models import PlanningRun
from tandem.planning.services import run_pending
from tests.browser.axe_support import axe_problems
from tests.browser.conftest import PAGE_TIMEOUT_MS
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
            for width, size in WIDTHS.items():
                page.set_viewport_size(size)
                found_here = axe_problems(page)
                if width == "phone" and name.startswith(FIT_ON_PHONE):
                    found_here += [f"cut off on a phone: {label}" for label in page.evaluate(CUT_OFF)]
                if found_here:
                    problems[f"{name} as {role} at {width}"] = found_here
        context.close()
    count = sum(len(entries) for entries in pages.values())
    print(
        f"axe: {count} pages ({', '.join(f'{r} {len(e)}' for r, e in pages.items() if e)}) at "
        f"{len(WIDTHS)} widths; found in {found - started:.1f} s, checked in {time.monotonic() - found:.1f} s"
    )
    assert count > 50, pages
    assert problems == {}, "\n".join(f"{where}: {found}" for where, found in problems.items())
