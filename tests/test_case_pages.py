"""The staff pages: case list with search and filters, case detail, create and edit."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tandem.cases.models import AbsentPartner, Case, Client, Phase
from tandem.scheduling.models import Appointment, AppointmentKind
from tests.cast import individual_case, login

COUPLE_POST = {
    "kind": "couple",
    "phase": Phase.CONSULTATION,
    "a-first_name": "Morgan",
    "a-last_name": "Lindqvist",
    "a-email": "morgan@example.invalid",
    "b-first_name": "Ellis",
    "b-last_name": "Lindqvist",
}


def _count_queries(client, method: str, url: str, data: dict | None = None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = getattr(client, method)(url, data or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _more_cases(cast, n: int, prefix: str = "X") -> None:
    for i in range(n):
        a = Client.objects.create(first_name=f"Extra{i}", last_name="Client")
        b = Client.objects.create(first_name=f"Other{i}", last_name="Client")
        Case.objects.create(
            reference=f"{prefix}-{i:04d}",
            partner_a=a,
            partner_b=b,
            team=cast.couple_case.team,
            opened_on=dt.date(2025, 1, 1) + dt.timedelta(days=i),
            phase=Phase.TREATMENT,
        )


def test_coordinator_opens_a_couple_case_from_the_form(client, cast):
    login(client, cast.coordinator)
    response = client.post(reverse("cases:create"), {**COUPLE_POST, "team": cast.couple_case.team_id})
    case = Case.objects.get(partner_a__last_name="Lindqvist")
    assert response.status_code == 302 and response["Location"] == reverse(
        "cases:detail", kwargs={"case_id": case.pk}
    )
    assert case.is_couple and case.team == cast.couple_case.team


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"a-first_name": ""}, "Enter the first name."),
        ({"b-last_name": ""}, "Enter the last name."),
        ({"a-email": "not-an-address"}, "Enter a valid email address."),
        ({"a-date_of_birth": "2999-01-01"}, "The date of birth must be in the past."),
        ({"a-phone": "call me maybe"}, "A phone number has only digits"),
        ({"kind": "individual"}, "say why the partner does not attend"),
        ({"therapist": "THERAPIST", "team": "TEAM"}, "not both"),
        ({"phase": "treatment"}, "Select a valid choice"),
    ],
)
def test_invalid_case_input_says_why_and_changes_nothing(client, cast, change, message):
    login(client, cast.coordinator)
    data = {**COUPLE_POST, **change}
    data = {
        k: {"THERAPIST": cast.therapist_a.pk, "TEAM": cast.couple_case.team_id}.get(v, v)
        for k, v in data.items()
    }
    before = (Case.objects.count(), Client.objects.count())
    response = client.post(reverse("cases:create"), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert (Case.objects.count(), Client.objects.count()) == before


def test_individual_case_then_partner_joins_through_the_pages(client, cast):
    login(client, cast.coordinator)
    client.post(
        reverse("cases:create"),
        {
            "kind": "individual",
            "phase": Phase.INTAKE,
            "absent_partner": AbsentPartner.UNAVAILABLE,
            "absent_partner_note": "Works abroad",
            "a-first_name": "Rowan",
            "a-last_name": "Achterberg",
            "b-first_name": "ignored",
            "b-last_name": "",
        },
    )
    case = Case.objects.get(partner_a__last_name="Achterberg")
    assert not case.is_couple and case.absent_partner_note == "Works abroad"
    response = client.post(
        reverse("cases:partner_add", kwargs={"case_id": case.pk}),
        {"first_name": "Sky", "last_name": "Achterberg"},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.is_couple and case.partner_b.first_name == "Sky"


def test_case_list_search_by_name_and_filters(client, cast):
    login(client, cast.director)
    url = reverse("cases:list")

    def shown(data: dict) -> set[str]:
        return {c.reference for c in client.post(url, data).context["page"].object_list}

    assert shown({"q": "blair"}) == {"T-0001"}
    assert shown({"q": "Alex Partner"}) == {"T-0001"}
    assert shown({"q": "T-0002"}) == {"T-0002"}
    assert shown({"phase": Phase.INTAKE}) == {"T-0002"}
    assert shown({"phase": "open"}) == {"T-0001", "T-0002"}
    assert shown({"therapist": cast.cotherapist.pk}) == {"T-0001"}
    assert shown({"therapist": cast.therapist_b.pk}) == set()


def test_case_list_rejects_bad_filters_with_a_message(client, cast):
    login(client, cast.director)
    response = client.post(reverse("cases:list"), {"phase": "nonsense", "q": "x" * 101})
    body = response.content.decode()
    assert response.context["page"] is None
    assert "Select a valid choice" in body and "at most 100 characters" in body


def test_case_list_search_never_goes_into_the_url(client, cast):
    login(client, cast.director)
    page = client.get(reverse("cases:list")).content.decode()
    assert 'method="post"' in page and 'method="get"' not in page


def test_htmx_search_returns_only_the_results_fragment(client, cast):
    login(client, cast.director)
    response = client.post(reverse("cases:list"), {"q": "sam"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="case-results"') and "Sam Solo" in body


def test_case_list_rows_print_clients_phase_clinicians_and_opening(client, cast):
    # The rows come from a Jinja2 fragment over cases read with only the columns it prints.
    individual_case("T-0003", "Uma", "Unseen", phase=Phase.CONSULTATION, opened_on=dt.date(2026, 11, 2))
    login(client, cast.director)
    body = client.get(reverse("cases:list")).content.decode()
    couple = body[body.index("Alex Partner &amp; Blair Partner") :].split("</tr>")[0]
    assert "T-0001" in couple and ">Assessment<" in couple
    assert "Tess Assigned & Colin Cotherapist" in couple and "1 Sep 2026" in couple
    solo = body[body.index("Sam Solo (individual)") :].split("</tr>")[0]
    assert ">Intake<" in solo and "Tess Assigned<" in solo and "1 Oct 2026" in solo
    unassigned = body[body.index("Uma Unseen (individual)") :].split("</tr>")[0]
    assert '<span class="muted">unassigned</span>' in unassigned and "2 Nov 2026" in unassigned
    assert f'href="{reverse("cases:detail", args=[cast.solo_case.pk])}"' in body


def test_case_list_query_count_does_not_grow_with_rows(client, cast):
    login(client, cast.director)
    url = reverse("cases:list")
    _more_cases(cast, 3)
    few = _count_queries(client, "get", url)
    _more_cases(cast, 30, prefix="Y")  # more rows than one page shows
    many = _count_queries(client, "get", url)
    assert many == few


def test_case_detail_query_count_is_bounded(client, cast):
    login(client, cast.therapist_a)
    now = timezone.now()
    url = reverse("cases:detail", kwargs={"case_id": cast.couple_case.pk})

    def add(days: range) -> None:
        for day in days:
            appt = Appointment.objects.create(
                case=cast.couple_case,
                kind=AppointmentKind.STANDARD,
                starts_at=now + dt.timedelta(days=day),
                ends_at=now + dt.timedelta(days=day, hours=1),
            )
            appt.therapists.set([cast.therapist_a, cast.cotherapist])

    add(range(-1, 2, 2))  # one past, one upcoming: every prefetch runs once
    few = _count_queries(client, "get", url)
    add(range(-9, 9, 2))
    assert _count_queries(client, "get", url) == few


def test_a_name_shared_by_more_clients_than_are_read_still_finds_its_cases(client, cast, monkeypatch):
    # Past the limit, the clients stay a subquery instead of a list of ids: the same cases either way.
    from tandem.cases import forms as case_forms

    login(client, cast.director)
    url = reverse("cases:list")

    def shown(data: dict) -> set[str]:
        return {c.reference for c in client.post(url, data).context["page"].object_list}

    read_all = shown({"q": "Partner"})
    monkeypatch.setattr(case_forms, "NAMED_CLIENTS_READ", 1)
    assert shown({"q": "Partner"}) == read_all == {"T-0001"}
    assert shown({"q": "blair partner"}) == {"T-0001"}
    assert shown({"q": "nobody"}) == set()
