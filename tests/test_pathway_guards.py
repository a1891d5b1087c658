"""Guards where the programme has an order: treatment finishes only with a plan and after the booked
intensive's last session (or with a written override, audited); a follow-up contact is recorded on or after
the day its window opens (or earlier with a reason). Each refusal says what is missing."""

import datetime as dt
import html
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client as HttpClient
from django.urls import reverse

from tandem.audit.models import AuditEvent
from tandem.cases.models import Case, Phase
from tandem.lib.errors import Refusal
from tandem.pathway.models import FollowUpStatus, FollowUpTask
from tandem.pathway.services import TransitionBlocked, case_transition, followup_complete
from tandem.scheduling.services import intensive_book
from tests.cast import login
from tests.pathway_support import treatment_plan

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
NOW = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)
REASON = "The couple ended the block early by agreement; we finish here and follow up."


@pytest.fixture(autouse=True)
def _clock(settings):
    settings.TIME_ZONE = "Europe/Amsterdam"
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def in_treatment(cast) -> Case:
    Case.objects.filter(pk=cast.couple_case.pk).update(phase=Phase.TREATMENT)
    return Case.objects.with_people().get(pk=cast.couple_case.pk)


def _book_intensive(cast, case: Case) -> None:
    intensive_book(
        actor=cast.coordinator,
        case=case,
        room=cast.room,
        team=case.team,
        first_day=dt.date(2027, 3, 1),
        start_time=dt.time(9),
    )


def test_treatment_does_not_finish_without_a_plan_even_with_a_reason(cast, in_treatment):
    for override in ("", REASON):
        with pytest.raises(TransitionBlocked) as refused:
            case_transition(
                actor=cast.therapist_a, case=in_treatment, to_phase=Phase.FOLLOW_UP, override_reason=override
            )
        assert not refused.value.overridable
        assert refused.value.problems == [
            "There is no treatment plan: write the plan (format and goals) before treatment can finish."
        ]
    assert Case.objects.get(pk=in_treatment.pk).phase == Phase.TREATMENT
    assert not FollowUpTask.objects.exists()
    page = login(HttpClient(), cast.therapist_a).get(
        reverse("pathway:transition", kwargs={"case_id": in_treatment.pk, "to_phase": Phase.FOLLOW_UP})
    )
    text = page.content.decode()
    assert "There is no treatment plan" in text and "Reason for moving on" not in text


def test_treatment_finishes_after_the_booked_intensives_last_session_or_with_a_reason(cast, in_treatment):
    treatment_plan(in_treatment, cast.therapist_a, fmt="intensive")
    _book_intensive(cast, in_treatment)
    with pytest.raises(TransitionBlocked) as refused:
        case_transition(actor=cast.therapist_a, case=in_treatment, to_phase=Phase.FOLLOW_UP)
    assert refused.value.overridable
    assert refused.value.problems == [
        "The booked intensive runs until Fri 12 March 2027 (its last session ends at 11:00): "
        "treatment can finish after that day's session."
    ]
    # The page says the same before anyone tries, and offers the override to the case's therapist.
    page = login(HttpClient(), cast.therapist_a).get(
        reverse("pathway:transition", kwargs={"case_id": in_treatment.pk, "to_phase": Phase.FOLLOW_UP})
    )
    text = html.unescape(page.content.decode())
    assert "runs until Fri 12 March 2027" in text and "Reason for moving on" in text

    # Once the last session has ended, no reason is needed.
    with time_machine.travel(dt.datetime(2027, 3, 12, 11, 5, tzinfo=AMSTERDAM), tick=False):
        change = case_transition(actor=cast.therapist_a, case=in_treatment, to_phase=Phase.FOLLOW_UP)
    assert change.override_reason == ""


def test_finishing_before_the_intensive_ends_needs_a_reason_and_is_audited(cast, in_treatment):
    treatment_plan(in_treatment, cast.therapist_a, fmt="intensive")
    _book_intensive(cast, in_treatment)
    change = case_transition(
        actor=cast.therapist_a, case=in_treatment, to_phase=Phase.FOLLOW_UP, override_reason=REASON
    )
    assert change.override_reason == REASON
    event = AuditEvent.objects.filter(action="case.phase_change", case_id=in_treatment.pk).latest("seq")
    assert event.detail["overridden"][0].startswith("The booked intensive runs until Fri 12 March 2027")


def _follow_ups(cast, in_treatment) -> list[FollowUpTask]:
    treatment_plan(in_treatment, cast.therapist_a)
    case_transition(actor=cast.therapist_a, case=in_treatment, to_phase=Phase.FOLLOW_UP)
    return list(FollowUpTask.objects.filter(case=in_treatment).order_by("due_on"))


def test_a_follow_up_is_done_on_or_after_its_window_opens(cast, in_treatment):
    six_months = _follow_ups(cast, in_treatment)[-1]
    assert six_months.due_on == dt.date(2027, 7, 4) and six_months.opens_on == dt.date(2027, 6, 27)
    # Day 0: refused, saying when the window opens.
    with pytest.raises(Refusal, match="its window opens on 27 June 2027"):
        followup_complete(actor=cast.therapist_a, task=six_months)
    with pytest.raises(Refusal, match="at least 15 characters"):
        followup_complete(actor=cast.therapist_a, task=six_months, early_reason="Moving")
    assert FollowUpTask.objects.get(pk=six_months.pk).status == FollowUpStatus.OPEN
    # The day before it opens is still early; the day it opens is not.
    with (
        time_machine.travel(dt.datetime(2027, 6, 26, 12, tzinfo=AMSTERDAM), tick=False),
        pytest.raises(Refusal, match="window opens"),
    ):
        followup_complete(actor=cast.therapist_a, task=six_months)
    with time_machine.travel(dt.datetime(2027, 6, 27, 9, tzinfo=AMSTERDAM), tick=False):
        done = followup_complete(actor=cast.therapist_a, task=six_months, outcome="Still close.")
    assert done.status == FollowUpStatus.DONE and done.early_reason == ""


def test_an_early_follow_up_with_a_reason_keeps_the_reason_and_is_audited(cast, in_treatment, client):
    two_weeks = _follow_ups(cast, in_treatment)[0]
    reason = "They move abroad next week; this is our last chance to talk."
    done = followup_complete(actor=cast.therapist_a, task=two_weeks, early_reason=reason)
    assert done.early_reason == reason
    event = AuditEvent.objects.filter(action="followup.done").get()
    assert event.detail == {"early": True, "opens_on": "2027-01-11"}
    page = login(client, cast.therapist_a).get(reverse("cases:detail", kwargs={"case_id": in_treatment.pk}))
    assert "recorded before its window opened" in page.content.decode()


def test_the_follow_up_page_asks_for_the_reason_only_when_early(cast, in_treatment, client):
    one_month = _follow_ups(cast, in_treatment)[1]
    login(client, cast.therapist_a)
    url = reverse("pathway:follow_up_done", kwargs={"case_id": in_treatment.pk, "task_id": one_month.pk})
    page = client.get(url).content.decode()
    assert "window opens on 28 January 2027" in page and "early_reason" in page
    refused = client.post(url, {"outcome": ""})
    assert refused.status_code == 400 and "its window opens on 28 January 2027" in refused.content.decode()
    assert FollowUpTask.objects.get(pk=one_month.pk).status == FollowUpStatus.OPEN
    with time_machine.travel(dt.datetime(2027, 1, 28, 9, tzinfo=AMSTERDAM), tick=False):
        login(client, cast.therapist_a)  # weeks later: a new session
        assert "early_reason" not in client.get(url).content.decode()
        assert client.post(url, {"outcome": "Fine."}).status_code == 302
    assert FollowUpTask.objects.get(pk=one_month.pk).status == FollowUpStatus.DONE
