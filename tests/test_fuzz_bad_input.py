"""No server error on bad input (issue 12, part 5): every URL of the URL conf, as every role and as an
anonymous visitor, gets malformed query strings, form bodies and JSON; any 5xx fails the test, naming
the route, the role and the input.

Hypothesis draws the input (derandomized, so a run is reproducible); each test collects every server
error it meets instead of stopping at the first, so one run lists them all. The world of objects is
built once per test. Writes change it between examples, which is fine: nothing may answer 5xx whatever
state earlier input left behind. Beside the random draws, a sweep sends each edge value once per URL
in the inputs of its kind (with valid values elsewhere, so a form gets past its other fields), and each
JSON key in turn in an otherwise valid booking: random draws rarely hit the one value that overflows.
FUZZ_EXAMPLES scales the random examples per route and role (default 1) for a deeper run by hand; the
default is about 5,000 requests, some 80 s of CPU per database.
"""

import datetime as dt
import inspect
import json
import logging
import os
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.http import HttpResponse
from django.test import Client as HttpClient
from django.urls import reverse
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tandem.accounts.models import CoTherapyTeam
from tandem.scheduling import views as scheduling_api
from tests.fuzz_support import (
    SWEEP_VALUES,
    FormShape,
    Survey,
    encode,
    form_class_fields,
    fuzzed_pairs,
    json_body,
    sweep_pairs,
)
from tests.urlwalk import ROLES, Route, World, client_for, routes

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "1"))
CAST: tuple[str | None, ...] = (None, *ROLES)
# Names the views read from query strings without a form on the page saying so (links built in code).
FORM = "application/x-www-form-urlencoded"
QUERY_NAMES = ("date", "span", "show", "next", "therapist", "room", "tab", "mode", "page", "release", "q")


class Fuzz:
    """One fuzz run: the world, a logged-in client per role, and every 5xx met, with its input."""

    def __init__(self) -> None:
        self.world = World()
        self.requests = 0
        self.failures: list[str] = []
        self.routes = routes()
        self._clients: dict[str | None, HttpClient] = {}

    def client(self, role: str | None) -> HttpClient:
        # Fuzzed posts can log a client out (the log-out and password pages); log it in again.
        http = self._clients.get(role)
        if http is None or (role is not None and "_auth_user_id" not in http.session):
            http = self._clients[role] = client_for(self.world.cast, role)
        return http

    def get(self, role: str | None, url: str, query: str) -> None:
        self._check(role, f"GET {url}?{query[:300]}", self.client(role).get(f"{url}?{query}"))

    def post(self, role: str | None, url: str, body: str | bytes, content_type: str = FORM) -> None:
        response = self.client(role).post(url, body, content_type=content_type)
        self._check(role, f"POST {url} {body[:300]!r}", response)

    def _check(self, role: str | None, label: str, response: HttpResponse) -> None:
        self.requests += 1
        if response.status_code >= 500 and not _is_health_report(response):
            exc = getattr(response, "exc_info", None)
            cause = (
                f"{exc[0].__name__}: {str(exc[1])[:200]}"
                if exc
                else response.content[:200].decode(errors="replace")
            )
            self.failures.append(f"{response.status_code} as {role or 'anonymous'}: {label}\n    {cause}")
            print(self.failures[-1], flush=True)

    def explore(self, check: Callable[[st.DataObject], None], examples: int = EXAMPLES) -> None:
        """Runs `check` on `examples` Hypothesis draws, reproducibly and without a saved database."""

        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(st.data())
        def run(data: st.DataObject) -> None:
            check(data)

        run()

    def report(self, covered: str, started: float) -> None:
        print(
            f"\nfuzz: {covered}, as {len(CAST)} roles (anonymous included): {self.requests} requests, "
            f"{time.monotonic() - started:.1f} s, {len(self.failures)} server errors"
        )
        assert not self.failures, "Server errors on bad input:\n" + "\n".join(self.failures)


def _is_health_report(response: HttpResponse) -> bool:
    """The health endpoint answers 500 on purpose while a check fails (here: no worker runs beside the
    test), so that a load balancer takes the node out; that report is its answer, not a crash. A crash
    in the health view itself still counts, since the test client then keeps the exception."""
    return response.wsgi_request.path == reverse("health") and getattr(response, "exc_info", None) is None


@pytest.fixture(autouse=True)
def _quiet_refusals():
    # Thousands of 400/404 warnings would bury the report; server errors are logged at ERROR still.
    loggers = [logging.getLogger(name) for name in ("django.request", "axes")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


@pytest.mark.django_db
def test_no_query_string_or_form_post_gets_a_server_error():
    """One world for both halves (it is not cheap): the pages are read as each role, which tells the
    query half what their filters are called and the form half what their forms send."""
    started, fuzz = time.monotonic(), Fuzz()
    survey = Survey()
    for route in fuzz.routes:
        _fuzz_queries(fuzz, survey, route)
    fuzz.requests += survey.requests
    pool = form_class_fields()
    posted = 0
    for route in fuzz.routes:
        if not route.route.startswith("scheduling/api/"):  # JSON, below
            posted += _fuzz_posts(fuzz, survey, route, pool)
    for route in fuzz.routes:
        _sweep(fuzz, survey, route)
    fuzz.report(
        f"{len(fuzz.routes)} URLs with query strings, {posted} of them with form posts "
        f"({len(survey.posts)} with a rendered form)",
        started,
    )


def _fuzz_queries(fuzz: Fuzz, survey: Survey, route: Route) -> None:
    url = fuzz.world.url(route)
    for role in CAST:
        survey.visit(fuzz.client(role), url, route.name, role)
        shape = survey.queries.get(route.name, FormShape())

        def check(data: st.DataObject, role: str | None = role, shape: FormShape = shape) -> None:
            query = encode(fuzzed_pairs(data, shape.names | set(QUERY_NAMES), shape.options, []))
            fuzz.get(role, url, query)

        fuzz.explore(check)


def _fuzz_posts(fuzz: Fuzz, survey: Survey, route: Route, pool: list[str]) -> bool:
    url = fuzz.world.url(route)
    shape = survey.posts.get(route.name)
    if shape is None and not _accepts_post(fuzz, url):
        return False
    names, options = (shape.names, shape.options) if shape else (set(), {})
    for role in CAST:

        def check(data: st.DataObject, role: str | None = role) -> None:
            body = encode(fuzzed_pairs(data, names, options, pool))
            fuzz.post(role, url, body)

        fuzz.explore(check)
    return True


def _sweep(fuzz: Fuzz, survey: Survey, route: Route) -> None:
    """Each sweep value in every field at once, as the first role that could use the page or form:
    random draws rarely hit the one value that overflows a given column, the sweep always does."""
    url = fuzz.world.url(route)
    if f"GET {route.name}" in survey.seen_by:
        shape = survey.queries.get(route.name, FormShape())
        shape = FormShape(shape.names | set(QUERY_NAMES), shape.options, shape.kinds)
        for value in SWEEP_VALUES:
            query = encode(sweep_pairs(shape, value))
            fuzz.get(survey.seen_by[f"GET {route.name}"], url, query)
    if f"POST {route.name}" in survey.seen_by:
        for value in SWEEP_VALUES:
            body = encode(sweep_pairs(survey.posts[route.name], value))
            fuzz.post(survey.seen_by[f"POST {route.name}"], url, body)


def _accepts_post(fuzz: Fuzz, url: str) -> bool:
    """A URL no rendered form posts to is still fuzzed unless it refuses POST outright (405)."""
    response = fuzz.client("director").post(url, {})
    fuzz.requests += 1
    if response.status_code >= 500:
        fuzz.failures.append(f"{response.status_code} as director: POST {url} (empty)")
    return response.status_code != 405


# The API's keys, read from its parsing code, so a new key is fuzzed too.
API_KEYS = sorted(set(re.findall(r"""body(?:\.get\(|\[|, )"(\w+)""", inspect.getsource(scheduling_api))))


JSON_SWEEP: tuple[Any, ...] = (
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31",
    "0001-01-01",
    10**30,
    2**31,
    32768,
    -1,
    1e308,
    [],
    {},
    "\u00b2",
    "a\x00b",
    "x" * 5000,
)


def _valid_api_values(world: World) -> dict[str, Any]:
    start = (dt.datetime.now(dt.UTC) + dt.timedelta(days=5)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    return {
        "case": world.case.pk,
        "kind": "standard",
        "starts_at": start.isoformat(),
        "ends_at": (start + dt.timedelta(minutes=50)).isoformat(),
        "therapists": [world.cast.therapist_a.pk],
        "room": world.cast.room.pk,
        "mode": "in_person",
        "team": CoTherapyTeam.objects.values_list("pk", flat=True).first(),
        "therapist": world.cast.therapist_a.pk,
        "first_day": (start.date() + dt.timedelta(days=7)).isoformat(),
        "start_time": "09:00",
        "days": 2,
        "minutes": 180,
        "reason": "Synthetic reason",
    }


@pytest.mark.django_db
def test_no_json_body_gets_a_server_error():
    started, fuzz = time.monotonic(), Fuzz()
    assert {"case", "starts_at", "therapists"} <= set(API_KEYS), API_KEYS
    valid = _valid_api_values(fuzz.world)
    api = [route for route in fuzz.routes if route.route.startswith("scheduling/api/")]
    assert api, "the scheduling API has moved: update the prefix"
    for route in api:
        url = fuzz.world.url(route)
        for role in CAST:

            def check(data: st.DataObject, url: str = url, role: str | None = role) -> None:
                body = json_body(data, API_KEYS, valid)
                fuzz.post(role, url, body, "application/json")

            fuzz.explore(check, examples=EXAMPLES * 4)
        # The sweep: a valid body with one key at a time replaced by each edge value, as the director.
        for key in API_KEYS:
            for value in JSON_SWEEP:
                fuzz.post("director", url, json.dumps({**valid, key: value}), "application/json")
    fuzz.report(f"{len(api)} JSON endpoints", started)


def test_edge_values_reach_the_server_as_sent():
    """The encoding keeps invalid UTF-8 and NUL intact, so the server really sees them."""
    assert encode([("a", b"\xed\xa0\x80"), ("b", b"\x00")]) == "a=%ED%A0%80&b=%00"
