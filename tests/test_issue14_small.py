"""Issue 14's smaller items, one test each: each failed before its fix."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from tandem.access.services import break_glass_open
from tandem.audit.models import AuditEvent
from tandem.cases.models import AbsentPartner, Case, PartnerJoin, Phase
from tandem.lib.time import local_today
from tandem.measures.loader import load_instruments
from tandem.measures.models import MeasureRequest, Response
from tandem.measures.schedule import measures_schedule_for_case
from tandem.portal.services import client_invite
from tests.cast import login
from tests.measures_support import PHQ9_CALM


def test_individual_case_missing_only_the_reason_shows_only_that_error(client, cast):
    login(client, cast.coordinator)
    response = client.post(
        reverse("cases:create"),
        {"kind": "individual", "phase": Phase.INTAKE, "a-first_name": "Rowan", "a-last_name": "Achterberg"},
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "say why the partner does not attend" in body
    assert "Enter the first name." not in body and "Enter the last name." not in body
    assert not Case.objects.filter(partner_a__last_name="Achterberg").exists()


def test_back_to_a_filled_questionnaire_goes_to_the_list_saying_so(client, cast):
    load_instruments()
    measures_schedule_for_case(cast.couple_case.pk)
    login(client, cast.partner_a)
    due = MeasureRequest.objects.get(
        case=cast.couple_case, client=cast.couple_case.partner_a, instrument__code="PHQ9"
    )
    url = reverse("measures:my_fill", kwargs={"request_id": due.pk})
    answers = {f"item_{k}": str(v) for k, v in PHQ9_CALM.items()}
    assert client.post(url, answers).status_code == 302
    for again in (client.get, lambda u: client.post(u, answers)):
        response = again(url)
        assert response.status_code == 302 and response["Location"] == reverse("measures:my_due")
        assert "already filled in" in client.get(response["Location"]).content.decode()
    assert Response.objects.filter(client=cast.couple_case.partner_a, instrument__code="PHQ9").count() == 1
    # The partner's questionnaire stays a 404 for this client, filled or not.
    theirs = MeasureRequest.objects.get(
        case=cast.couple_case, client=cast.couple_case.partner_b, instrument__code="PHQ9"
    )
    assert client.get(reverse("measures:my_fill", kwargs={"request_id": theirs.pk})).status_code == 404


def test_a_client_who_sets_a_password_is_logged_in(client, cast):
    newcomer = cast.solo_case.partner_a
    newcomer.email = "sam.solo@example.invalid"
    newcomer.save()
    sent = client_invite(
        actor=cast.coordinator,
        case=cast.solo_case,
        client=newcomer,
        link_for=lambda token: reverse("portal:accept", kwargs={"token": token}),
    )
    form_path = client.get(sent.link)["Location"]
    password = "quiet-meadow-copper-87"
    response = client.post(form_path, {"new_password1": password, "new_password2": password})
    assert response.status_code == 302 and response["Location"] == reverse("portal:home")
    newcomer.refresh_from_db()
    assert int(client.session["_auth_user_id"]) == newcomer.user_id
    home = client.get(reverse("portal:home"))
    assert home.status_code == 200 and "Next time, log in with the user name" in home.content.decode()
    assert AuditEvent.objects.filter(action="auth.login", actor=newcomer.user).count() == 1


def test_a_partner_joining_keeps_the_reason_and_shows_on_the_timeline(client, cast):
    login(client, cast.coordinator)
    client.post(
        reverse("cases:create"),
        {
            "kind": "individual",
            "phase": Phase.INTAKE,
            "absent_partner": AbsentPartner.UNWILLING,
            "absent_partner_note": "Wants to think it over",
            "a-first_name": "Rowan",
            "a-last_name": "Achterberg",
        },
    )
    case = Case.objects.get(partner_a__last_name="Achterberg")
    response = client.post(
        reverse("cases:partner_add", kwargs={"case_id": case.pk}),
        {"first_name": "Sky", "last_name": "Achterberg"},
    )
    assert response.status_code == 302
    joined = PartnerJoin.objects.get(case=case)
    assert joined.was_absent == AbsentPartner.UNWILLING and joined.was_absent_note == "Wants to think it over"
    assert joined.client.first_name == "Sky" and joined.by == cast.coordinator
    for reader in (cast.coordinator, cast.director):
        login(client, reader)
        timeline = client.get(reverse("cases:detail", kwargs={"case_id": case.pk})).context["timeline"]
        entry = next(e for e in timeline if e.kind == "partner")
        assert entry.title == "Sky Achterberg joined" and entry.by == cast.coordinator
        assert entry.detail == "Until then: Partner unwilling to attend. Wants to think it over"


@pytest.mark.parametrize(
    "query",
    [
        {"first_day": "", "daily_minutes": "120"},
        {
            "tab": "weekly",
            "first_day": "",
            "per_week": "1",
            "weeks": "12",
            "minutes": "60",
            "mode": "in_person",
        },
    ],
)
def test_a_blank_search_date_searches_from_tomorrow_and_shows_it(client, cast, query):
    login(client, cast.coordinator)
    url = reverse("scheduling:availability", kwargs={"case_id": cast.couple_case.pk})
    response = client.get(url, query)
    body = response.content.decode()
    tomorrow = (local_today() + dt.timedelta(days=1)).isoformat()
    assert response.status_code == 200
    assert re.search(rf'<input type="date" name="first_day" value="{tomorrow}"', body)
    assert "This field is required" not in body


def test_one_case_page_view_writes_one_audit_row_for_every_reader(client, cast):
    """A guard, not a fix: the duplicated rows of the issue did not reproduce on this code (every case-scoped
    GET page was walked with the demo data); this keeps the case page at one read, one row."""
    break_glass_open(user=cast.therapist_b, case_id=cast.couple_case.pk, reason="Covering while Tess is away")
    url = reverse("cases:detail", kwargs={"case_id": cast.couple_case.pk})
    expected = {
        cast.director: "case.view_clinical",
        cast.therapist_a: "case.view_clinical",
        cast.cotherapist: "case.view_clinical",
        cast.therapist_b: "case.view_clinical",
        cast.coordinator: "case.view",
    }
    for reader, action in expected.items():
        login(client, reader)
        newest = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
        assert client.get(url).status_code == 200
        written = list(AuditEvent.objects.filter(pk__gt=newest).values_list("action", "actor"))
        assert written == [(action, reader.pk)]
