"""The clinical director's audit page: who may see it, filters, sorting, paging, and its query budget."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.shortcuts import resolve_url
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tandem.audit.models import AuditEvent
from tandem.audit.services import audit_record
from tests.cast import Cast, login

URL = reverse("audit:events")
AMS = ZoneInfo("Europe/Amsterdam")


@pytest.fixture(autouse=True)
def _practice_zone(settings):
    # The date-boundary tests need a zone an hour away from UTC, whatever the machine's environment says.
    settings.TIME_ZONE = "Europe/Amsterdam"


def record_at(when: dt.datetime, **kwargs) -> AuditEvent:
    with time_machine.travel(when, tick=False):
        return audit_record(**kwargs)


@pytest.fixture
def history(cast: Cast) -> dict[str, AuditEvent]:
    """Five events on known local dates; e1 and e2 sit either side of midnight in Amsterdam."""
    return {
        "e1": record_at(
            dt.datetime(2026, 11, 1, 23, 30, tzinfo=AMS),
            actor=cast.director,
            action="case.view",
            target=cast.couple_case,
            case=cast.couple_case,
            ip="10.1.2.3",
        ),
        "e2": record_at(
            dt.datetime(2026, 11, 2, 0, 30, tzinfo=AMS),
            actor=cast.therapist_a,
            action="case.view_clinical",
            target=cast.couple_case,
            case=cast.couple_case,
        ),
        "e3": record_at(
            dt.datetime(2026, 11, 5, 12, 0, tzinfo=AMS),
            actor=cast.coordinator,
            action="case.update",
            target=cast.solo_case,
            case=cast.solo_case,
            detail={"fields": ["phone"]},
        ),
        "e4": record_at(
            dt.datetime(2026, 11, 6, 9, 0, tzinfo=AMS),
            actor=cast.partner_a,
            action="portal.view",
            case=cast.couple_case,
        ),
        "e5": record_at(dt.datetime(2026, 11, 7, 9, 0, tzinfo=AMS), actor=None, action="auth.login_failed"),
    }


@pytest.fixture
def director(client, cast: Cast):
    return login(client, cast.director)


def listed(response) -> list[int]:
    """The seq numbers on the page, excluding the page's own audit.view events."""
    return [e.seq for e in response.context["page_obj"] if e.action != "audit.view"]


def seqs(history, *names) -> list[int]:
    return [history[n].seq for n in names]


# --- Who may see it -------------------------------------------------------------------------------


def test_director_sees_the_events(director, history, cast):
    response = director.get(URL)
    assert response.status_code == 200
    assert response.context["nav"] == "audit"
    html = response.content.decode()
    assert listed(response) == seqs(history, "e5", "e4", "e3", "e2", "e1")
    # Shown in the practice's zone: 23:30 in Amsterdam, although it was 22:30 UTC.
    assert "2026-11-01 23:30:00" in html
    assert "case.view_clinical" in html
    assert "10.1.2.3" in html
    case_url = reverse("cases:detail", kwargs={"case_id": cast.couple_case.pk})
    assert f'<a href="{case_url}">T-0001</a>' in html
    assert "cases.case " + str(cast.solo_case.pk) in html
    assert "fields: [&#34;phone&#34;]" in html


@pytest.mark.parametrize("who", ["therapist_a", "coordinator", "partner_a"])
def test_everyone_else_gets_404_and_the_attempt_is_audited(client, cast, history, who):
    user = getattr(cast, who)
    response = login(client, user).get(URL)
    assert response.status_code == 404
    denied = AuditEvent.objects.order_by("-seq").first()
    assert denied is not None
    assert (denied.action, denied.actor_id, denied.detail["object"]) == ("access.denied", user.pk, "audit")
    assert not AuditEvent.objects.filter(action="audit.view").exists()


def test_anonymous_is_sent_to_log_in(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith(resolve_url(settings.LOGIN_URL))


def test_only_get(director, db):
    assert director.post(URL).status_code == 405


def test_viewing_the_page_is_audited_with_its_filters(director, history, cast):
    director.get(URL, {"case": "T-0001", "action": "case.view", "date_from": "2026-11-01"})
    view = AuditEvent.objects.order_by("-seq").first()
    assert view is not None
    assert (view.action, view.actor_id) == ("audit.view", cast.director.pk)
    assert view.detail == {"case": "T-0001", "action": "case.view", "date_from": "2026-11-01"}


# --- Filters --------------------------------------------------------------------------------------


def test_filter_by_staff_member(director, history, cast):
    response = director.get(URL, {"actor": cast.therapist_a.pk})
    assert listed(response) == seqs(history, "e2")


def test_filter_by_user_name_finds_clients_and_anonymous(director, history):
    assert listed(director.get(URL, {"username": "alex"})) == seqs(history, "e4")
    assert listed(director.get(URL, {"username": "anonymous"})) == seqs(history, "e5")


def test_filter_by_case_reference(director, history):
    assert listed(director.get(URL, {"case": " t-0002 "})) == seqs(history, "e3")
    assert listed(director.get(URL, {"case": "T-0001"})) == seqs(history, "e4", "e2", "e1")


def test_filter_by_action(director, history):
    response = director.get(URL, {"action": "case.update"})
    assert listed(response) == seqs(history, "e3")
    assert '<option value="portal.view">' in response.content.decode()


def test_filter_by_local_date_range(director, history):
    # 00:30 on 2 November in Amsterdam is still 1 November in UTC: the page must go by the practice's day.
    assert listed(director.get(URL, {"date_from": "2026-11-02", "date_to": "2026-11-02"})) == seqs(
        history, "e2"
    )
    assert listed(director.get(URL, {"date_to": "2026-11-01"})) == seqs(history, "e1")
    assert listed(director.get(URL, {"date_from": "2026-11-05", "date_to": "2026-11-06"})) == seqs(
        history, "e4", "e3"
    )


def test_filters_combine(director, history, cast):
    params = {"case": "T-0001", "date_from": "2026-11-02", "sort": "oldest"}
    assert listed(director.get(URL, params)) == seqs(history, "e2", "e4")
    assert listed(director.get(URL, {**params, "actor": cast.director.pk})) == []


def test_no_match_says_so(director, history):
    response = director.get(URL, {"action": "case.update", "date_from": "2026-11-06"})
    assert "No events match these filters." in response.content.decode()


# --- Sorting and paging ---------------------------------------------------------------------------


def test_sort_oldest_first(director, history):
    assert listed(director.get(URL, {"sort": "oldest"})) == seqs(history, "e1", "e2", "e3", "e4", "e5")


def test_sort_by_person(director, history):
    response = director.get(URL, {"sort": "person"})
    labels = [e.actor_label for e in response.context["page_obj"]]
    assert labels == sorted(labels)
    assert labels[0] == "alex.partner"


def test_sort_by_action(director, history):
    response = director.get(URL, {"sort": "action"})
    actions = [e.action for e in response.context["page_obj"]]
    assert actions == sorted(actions)
    assert 'aria-sort="ascending"' in response.content.decode()


def test_sort_links_keep_the_filters(director, history):
    html = director.get(URL, {"case": "T-0001", "page": "1"}).content.decode()
    assert "?case=T-0001&amp;sort=oldest" in html
    assert "?case=T-0001&amp;sort=person" in html


def test_fifty_events_a_page(director, cast):
    for n in range(120):
        audit_record(actor=cast.therapist_a, action="case.view", detail={"n": n})
    first = director.get(URL, {"action": "case.view"})
    assert len(first.context["page_obj"]) == 50
    assert first.context["page_obj"].paginator.num_pages == 3
    html = first.content.decode()
    assert "Page 1 of 3" in html
    assert "?action=case.view&amp;page=2" in html
    assert len(director.get(URL, {"action": "case.view", "page": "3"}).context["page_obj"]) == 20
    # Nonsense page numbers land on a real page instead of an error.
    assert director.get(URL, {"action": "case.view", "page": "999"}).context["page_obj"].number == 3
    assert director.get(URL, {"action": "case.view", "page": "x"}).context["page_obj"].number == 1


# --- Bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"date_from": "2026-11-05", "date_to": "2026-11-01"}, "The “from” date is after the “to” date."),
        ({"date_from": "2026-13-45"}, "Enter the “from” date as a date"),
        ({"date_to": "0001-01-01"}, "Enter a “to” date between 2000 and 2999."),
        ({"case": "T-9999"}, "No case has the reference “T-9999”."),
        ({"actor": "999999"}, "Choose a staff member from the list."),
        ({"actor": "not-a-number"}, "Choose a staff member from the list."),
        ({"action": "made.up"}, "No event has the action “made.up”."),
        ({"sort": "hmac"}, "Choose one of the listed sort orders."),
        ({"username": "x" * 151}, "at most 150 characters"),
    ],
)
def test_invalid_filters_show_a_message(director, history, params, message):
    response = director.get(URL, params)
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert 'role="alert"' in html
    assert response.context["page_obj"] is None


def test_a_client_is_not_in_the_staff_list(director, history, cast):
    response = director.get(URL, {"actor": cast.partner_a.pk})
    assert "Choose a staff member from the list." in response.content.decode()


def test_staff_member_and_user_name_together_is_refused(director, history, cast):
    response = director.get(URL, {"actor": cast.therapist_a.pk, "username": "alex"})
    assert "Choose a staff member or type a user name, not both." in response.content.decode()


def test_event_about_a_case_that_no_longer_exists(director, cast):
    audit_record(actor=cast.director, action="case.delete", case=987654)
    html = director.get(URL).content.decode()
    assert "case 987654" in html
    assert reverse("cases:detail", kwargs={"case_id": 987654}) not in html


# --- Markup and query budget ----------------------------------------------------------------------


def test_markup_is_accessible_and_csp_clean(director, history):
    html = director.get(URL).content.decode()
    assert "<caption>" in html
    assert '<th scope="col"' in html and '<th scope="row">' in html
    assert 'for="id_date_from"' in html
    assert " style=" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"


def test_query_count_does_not_grow_with_the_events(director, cast):
    people = [cast.director, cast.therapist_a, cast.coordinator, cast.partner_a, cast.cotherapist]
    cases = [cast.couple_case, cast.solo_case, None]

    def add(count: int) -> None:
        for n in range(count):
            audit_record(actor=people[n % len(people)], action=f"test.{n % 4}", case=cases[n % len(cases)])

    add(10)
    director.get(URL)  # warm up: the first request may fill caches that later ones do not
    with CaptureQueriesContext(connection) as small:
        assert len(director.get(URL).context["page_obj"]) == 12
    add(50)
    with CaptureQueriesContext(connection) as large:
        assert len(director.get(URL).context["page_obj"]) == 50
    assert len(large) == len(small), [q["sql"] for q in large.captured_queries]
    assert len(large) <= 15


def test_a_broad_filter_counts_only_up_to_the_cap(director, cast, monkeypatch):
    monkeypatch.setattr("tandem.access.audit_views.COUNT_CAP", 100)
    for n in range(120):
        audit_record(actor=cast.therapist_a, action="case.view", detail={"n": n})
    first = director.get(URL, {"action": "case.view"})
    paginator = first.context["page_obj"].paginator
    assert paginator.capped and paginator.count == 100 and paginator.num_pages == 2
    html = first.content.decode()
    assert "Audit events 1–50 of more than 100" in html  # noqa: RUF001
    assert "Page 1 of 2 or more" in html
    second = director.get(URL, {"action": "case.view", "page": "2"})
    assert [e.detail["n"] for e in second.context["page_obj"]] == list(range(69, 19, -1))
    # Under the cap the count is exact and says so.
    for _ in range(30):
        audit_record(actor=cast.therapist_a, action="case.list")
    exact = director.get(URL, {"action": "case.list"}).content.decode()
    assert "Audit events 1–30 of 30" in exact and "more than" not in exact  # noqa: RUF001
