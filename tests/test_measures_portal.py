"""The client's side: their own questionnaires in the portal, and partner privacy over pages and URLs."""

import re

import pytest
from django.urls import reverse

from tandem.audit.models import AuditEvent
from tandem.measures.loader import load_instruments
from tandem.measures.models import CoupleReportShare, MeasureRequest, Response
from tandem.measures.schedule import measures_schedule_for_case
from tandem.measures.services import couple_report_revoke, couple_report_share
from tests.cast import login
from tests.measures_support import PHQ9_CALM, csi16, record

HOME = reverse("portal:home")
MY = reverse("measures:my_due")


@pytest.fixture
def scheduled(cast):
    load_instruments()
    measures_schedule_for_case(cast.couple_case.pk)
    return cast


def request_of(cast, who: str, code: str) -> MeasureRequest:
    client = getattr(cast.couple_case, who)
    return MeasureRequest.objects.get(case=cast.couple_case, client=client, instrument__code=code)


def fill_url(request: MeasureRequest) -> str:
    return reverse("measures:my_fill", kwargs={"request_id": request.pk})


def post_answers(answers: dict[str, int]) -> dict[str, str]:
    return {f"item_{k}": str(v) for k, v in answers.items()}


def test_portal_home_and_list_show_only_my_due_questionnaires(client, scheduled):
    cast = scheduled
    login(client, cast.partner_a)
    mine = request_of(cast, "partner_a", "PHQ9")
    theirs = request_of(cast, "partner_b", "PHQ9")
    for url in (HOME, MY):
        page = client.get(url).content.decode()
        assert fill_url(mine) in page
        assert fill_url(theirs) not in page
        assert "Patient Health Questionnaire-9" in page


def test_client_fills_phq9_with_labelled_radio_groups(client, scheduled):
    cast = scheduled
    login(client, cast.partner_a)
    due = request_of(cast, "partner_a", "PHQ9")
    page = client.get(fill_url(due)).content.decode()
    assert '<fieldset class="question"' in page
    assert "<legend>1. Little interest or pleasure in doing things" in page
    assert 'type="radio" name="item_1" value="3"' in page
    assert "Nearly every day" in page
    response = client.post(fill_url(due), post_answers({**PHQ9_CALM, "1": 2, "2": 1}))
    assert response.status_code == 302
    saved = Response.objects.get(client=cast.couple_case.partner_a, instrument__code="PHQ9")
    assert saved.total == 3 and saved.entered_by == cast.partner_a
    due.refresh_from_db()
    assert due.response == saved
    assert fill_url(due) not in client.get(MY).content.decode()
    event = AuditEvent.objects.get(action="measures.response_recorded")
    assert event.detail["own"] is True


def test_a_required_question_left_open_is_named_and_nothing_is_saved(client, scheduled):
    cast = scheduled
    login(client, cast.partner_a)
    due = request_of(cast, "partner_a", "GAD7")
    answers = {str(n): 1 for n in range(1, 8)}
    del answers["4"]
    response = client.post(fill_url(due), post_answers(answers))
    assert response.status_code == 400
    assert "Please choose an answer to question 4." in response.content.decode()
    assert not Response.objects.exists()


def test_an_out_of_range_value_changes_nothing(client, scheduled):
    cast = scheduled
    login(client, cast.partner_a)
    due = request_of(cast, "partner_a", "GAD7")
    response = client.post(fill_url(due), post_answers({**{str(n): 1 for n in range(1, 8)}, "3": 9}))
    assert response.status_code == 400
    assert not Response.objects.exists()


def test_partner_cannot_open_or_answer_the_other_partners_questionnaire(client, scheduled):
    cast = scheduled
    login(client, cast.partner_b)
    theirs = request_of(cast, "partner_a", "PHQ9")
    assert client.get(fill_url(theirs)).status_code == 404
    assert client.post(fill_url(theirs), post_answers(PHQ9_CALM)).status_code == 404
    assert not Response.objects.exists()
    assert AuditEvent.objects.filter(action="access.denied", detail__object="measure_request").exists()


def test_staff_never_reach_the_portal_pages(client, scheduled):
    cast = scheduled
    login(client, cast.therapist_a)
    assert client.get(MY).status_code == 404
    assert client.get(fill_url(request_of(cast, "partner_a", "PHQ9"))).status_code == 404


def report_url(cast) -> str:
    return reverse("measures:my_report", kwargs={"case_id": cast.couple_case.pk})


def test_couple_report_only_once_the_therapist_shares_it(client, scheduled):
    cast = scheduled
    case = cast.couple_case
    record(cast.therapist_a, case, case.partner_a, "CSI16", csi16(40), days_ago=20)
    record(cast.therapist_a, case, case.partner_b, "CSI16", csi16(63), days_ago=20)
    record(cast.therapist_a, case, case.partner_b, "PHQ9", {**PHQ9_CALM, "1": 3, "2": 3}, days_ago=20)
    login(client, cast.partner_a)
    # Not shared: the URL answers 404, and nothing of Blair's shows anywhere in Alex's portal.
    assert client.get(report_url(cast)).status_code == 404
    for url in (HOME, MY):
        page = client.get(url).content.decode()
        # A word boundary, so that a CSRF token that happens to hold the digits 63 is no false alarm.
        assert not re.search(r"\b63\b", page) and "Blair" not in page
    share = couple_report_share(actor=cast.therapist_a, case=case)
    assert AuditEvent.objects.filter(action="measures.couple_report_shared", target_id=str(share.pk)).exists()
    for who in ("partner_a", "partner_b"):
        login(client, getattr(cast, who))
        assert report_url(cast) in client.get(MY).content.decode()
        page = client.get(report_url(cast)).content.decode()
        assert "Alex" in page and "Blair" in page
        assert '<td data-label="Score">40</td>' in page and '<td data-label="Score">63</td>' in page
        # Couple-measure totals only: no mood scores, no item answers.
        assert "Patient Health" not in page and "item_" not in page
    couple_report_revoke(actor=cast.therapist_a, case=case)
    assert client.get(report_url(cast)).status_code == 404


def test_only_the_cases_clinicians_share_the_report(client, scheduled):
    cast = scheduled
    case = cast.couple_case
    login(client, cast.therapist_b)
    assert client.post(reverse("measures:share", kwargs={"case_id": case.pk})).status_code == 404
    login(client, cast.partner_a)
    assert client.post(reverse("measures:share", kwargs={"case_id": case.pk})).status_code == 404
    assert not CoupleReportShare.objects.exists()
    login(client, cast.therapist_a)
    assert client.post(reverse("measures:share", kwargs={"case_id": case.pk})).status_code == 302
    assert CoupleReportShare.objects.filter(case=case, revoked_at__isnull=True).count() == 1


def test_an_outsider_client_guessing_ids_gets_404(client, scheduled):
    from tandem.accounts.models import Role
    from tandem.cases.models import Client
    from tests.cast import make_user

    cast = scheduled
    couple_report_share(actor=cast.therapist_a, case=cast.couple_case)
    outsider = make_user("olive.outsider", Role.CLIENT)
    Client.objects.create(first_name="Olive", last_name="Outsider", user=outsider)
    login(client, outsider)
    assert client.get(report_url(cast)).status_code == 404
    for request in MeasureRequest.objects.all():
        assert client.get(fill_url(request)).status_code == 404
    assert "Patient Health" not in client.get(MY).content.decode()


def test_one_entry_per_questionnaire_and_one_answer_completes_older_ones(client, scheduled):
    import datetime as dt

    from tandem.lib.time import local_today

    cast = scheduled
    older = request_of(cast, "partner_a", "PHQ9")
    newer = MeasureRequest.objects.create(
        case=cast.couple_case,
        client=cast.couple_case.partner_a,
        instrument=older.instrument,
        occasion="follow_up:999",
        reason="1-month follow-up",
        due_on=local_today() - dt.timedelta(days=1),
    )
    login(client, cast.partner_a)
    page = client.get(MY).content.decode()
    assert fill_url(newer) in page and fill_url(older) not in page
    assert client.post(fill_url(newer), post_answers(PHQ9_CALM)).status_code == 302
    older.refresh_from_db()
    newer.refresh_from_db()
    assert older.response_id == newer.response_id is not None
