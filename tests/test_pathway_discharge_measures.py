"""The discharge summary shows each partner's measures at start and end, with reliable change."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tandem.cases.models import Case, Phase
from tandem.measures.loader import load_instruments
from tandem.measures.models import Instrument, Response
from tandem.measures.selectors import measures_start_end
from tests.cast import Cast, login


def _response(cast: Cast, who: str, code: str, total: int | None, days_ago: int) -> Response:
    case = cast.couple_case
    instrument = Instrument.objects.get(code=code)
    return Response.objects.create(
        instrument=instrument,
        instrument_version=instrument.version,
        client=getattr(case, who),
        case=case,
        answered_at=timezone.now() - dt.timedelta(days=days_ago),
        answers={},
        entered_by=cast.therapist_a,
        total=None if total is None else Decimal(total),
    )


@pytest.fixture
def discharged(cast) -> Case:
    load_instruments()
    Case.objects.filter(pk=cast.couple_case.pk).update(phase=Phase.DISCHARGED, closed_on=dt.date(2026, 11, 1))
    cast.couple_case.refresh_from_db()
    return cast.couple_case


def test_first_and_last_score_with_reliable_change(client, cast, discharged):
    _response(cast, "partner_a", "PHQ9", 18, 120)
    _response(cast, "partner_a", "PHQ9", 12, 60)  # in between: not shown
    _response(cast, "partner_a", "PHQ9", 6, 5)
    _response(cast, "partner_a", "PHQ9", None, 1)  # unscored (items missing): not an end score
    _response(cast, "partner_b", "PHQ9", 7, 100)
    _response(cast, "partner_b", "PHQ9", 8, 3)
    _response(cast, "partner_b", "GAD7", 9, 100)
    rows = {(m.client.first_name, m.instrument.code): m for m in measures_start_end(case=discharged)}
    assert set(rows) == {("Alex", "PHQ9"), ("Blair", "PHQ9"), ("Blair", "GAD7")}
    alex = rows["Alex", "PHQ9"]
    assert (alex.first.total, alex.last and alex.last.total) == (Decimal(18), Decimal(6))
    assert alex.change is not None and alex.change.verdict == "improved"
    blair = rows["Blair", "PHQ9"]
    assert blair.change is not None and blair.change.verdict == "no_reliable_change"
    assert rows["Blair", "GAD7"].last is None and rows["Blair", "GAD7"].change is None
    login(client, cast.therapist_a)
    page = client.get(
        reverse("pathway:discharge_summary", kwargs={"case_id": discharged.pk})
    ).content.decode()
    assert "Measures at start and end" in page
    assert "reliably improved" in page and "no reliable change" in page and "answered once" in page


def test_other_cases_measures_stay_out(client, cast, discharged):
    instrument = Instrument.objects.get(code="PHQ9")
    Response.objects.create(
        instrument=instrument,
        instrument_version=instrument.version,
        client=cast.solo_case.partner_a,
        case=cast.solo_case,
        answered_at=timezone.now(),
        answers={},
        total=Decimal(20),
    )
    assert measures_start_end(case=discharged) == []
    login(client, cast.therapist_a)
    page = client.get(
        reverse("pathway:discharge_summary", kwargs={"case_id": discharged.pk})
    ).content.decode()
    assert "No questionnaire was scored in this case." in page


def test_one_query_however_many_responses(cast, discharged):
    _response(cast, "partner_a", "PHQ9", 10, 10)
    with CaptureQueriesContext(connection) as few:
        measures_start_end(case=discharged)
    for days in range(20):
        _response(cast, "partner_b", "GAD7", days % 15, 30 - days)
        _response(cast, "partner_a", "PHQ9", days % 20, 30 - days)
    with CaptureQueriesContext(connection) as many:
        measures_start_end(case=discharged)
    assert len(few) == len(many) == 1
