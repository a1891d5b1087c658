"""The director's outcomes page, its CSV, the research export: who may see them, what they show."""

import csv
import io
import random
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tandem.cases.models import Case, Client
from tandem.measures.loader import load_instruments
from tandem.outcomes.research import columns, research_rows
from tandem.outcomes.services import outcome_rows_refresh
from tests.cast import login
from tests.outcomes_support import ENDED, dropout, finished_couple

URLS = ("outcomes:practice", "outcomes:practice_csv", "outcomes:research_csv")


@pytest.fixture
def practice(cast):
    """6 intensive couples who both recover on the CSI-16, 6 standard couples who do not change, one
    standard couple never measured, one drop-out."""
    load_instruments()
    for n in range(6):
        finished_couple(n, cast.director, fmt="intensive", scores={"CSI16": (30 + n, 70), "PHQ9": (15, 4)})
    for n in range(6, 12):
        finished_couple(
            n,
            cast.director,
            fmt="standard",
            problem="intimacy-problems",
            scores={"CSI16": (34 + n, 35 + n), "PHQ9": (12, 12)},
        )
    finished_couple(12, cast.director, fmt="standard")
    dropout(13, cast.director)
    outcome_rows_refresh()
    return cast


def _cells(html: str, caption_start: str, row_label: str) -> list[str]:
    table = re.search(rf"<caption>{caption_start}.*?</table>", html, re.S)
    assert table, caption_start
    row = re.search(rf"<th scope=\"row\">{re.escape(row_label)}</th>(.*?)</tr>", table.group(0), re.S)
    assert row, row_label
    return [cell.replace("&lt;", "<") for cell in re.findall(r"<td>(.*?)</td>", row.group(1))]


@pytest.mark.parametrize("who", ["therapist_a", "coordinator", "partner_a", "partner_b"])
@pytest.mark.parametrize("name", URLS)
def test_only_the_director_gets_in(client, practice, who, name):
    login(client, getattr(practice, who))
    assert client.get(reverse(name)).status_code == 404


@pytest.mark.parametrize("name", URLS)
def test_logged_out_gets_nothing(client, practice, name):
    assert client.get(reverse(name)).status_code in (302, 404)


def test_director_sees_categories_with_small_cells_suppressed(client, practice):
    login(client, practice.director)
    html = client.get(reverse("outcomes:practice"), {"instrument": "CSI16"}).content.decode()
    # Recovered, improved, unchanged, deteriorated, not measured; then the total of partners.
    assert _cells(html, "Partners by outcome", "All cases") == ["12", "<5", "12", "<5", "<5", "26"]
    assert _cells(html, "Partners by outcome", "Intensive") == ["12", "<5", "<5", "<5", "<5", "12"]
    assert _cells(html, "Couples by outcome", "All cases") == ["6", "<5", "6", "<5", "<5", "13"]
    # Finished, dropped out, drop-out rate, median days from first contact to treatment; total cases.
    assert _cells(html, "Drop-outs and time to treatment", "All cases") == ["<5", "<5", "<5", "101", "14"]
    assert "Avery0" not in html and "OUT-0000" not in html
    assert 'role="img"' in html and "&lt;5" in html


def test_filters_by_format_and_problem(client, practice):
    login(client, practice.director)
    page = client.get(
        reverse("outcomes:practice"), {"instrument": "PHQ9", "format": "intensive", "by": "problem"}
    )
    html = page.content.decode()
    assert _cells(html, "Partners by outcome", "All cases") == ["12", "<5", "<5", "<5", "<5", "12"]
    page = client.get(reverse("outcomes:practice"), {"problem": "intimacy-problems", "by": "format"})
    html = page.content.decode()
    assert _cells(html, "Partners by outcome", "All cases") == ["<5", "<5", "12", "<5", "<5", "12"]


def test_bad_filter_is_explained_and_shows_no_figures(client, practice):
    login(client, practice.director)
    html = client.get(reverse("outcomes:practice"), {"format": "weekly", "period": "26"}).content.decode()
    assert "Choose a format from the list." in html and "Write a year such as 2025" in html
    assert "Partners by outcome" not in html


def test_csv_is_suppressed_like_the_page(client, practice):
    login(client, practice.director)
    response = client.get(reverse("outcomes:practice_csv"), {"instrument": "CSI16"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert ["Partners by outcome", "All cases", "12", "<5", "12", "<5", "<5", "26"] in rows
    assert ["Couples by outcome", "All cases", "6", "<5", "6", "<5", "<5", "13"] in rows
    assert "Outcomeson" not in response.content.decode()


def _queries(client, n: int) -> int:
    outcome_rows_refresh()
    with CaptureQueriesContext(connection) as ctx:
        assert (
            client.get(reverse("outcomes:practice"), {"instrument": "CSI16", "by": "problem"}).status_code
            == 200
        )
    return len(ctx.captured_queries)


def test_query_count_does_not_grow_with_cases(client, cast):
    load_instruments()
    login(client, cast.director)
    for n in range(3):
        finished_couple(n, cast.director, scores={"CSI16": (40 + n, 60)})
    small = _queries(client, 3)
    for n in range(3, 15):
        finished_couple(n, cast.director, fmt="standard", scores={"CSI16": (40 + n, 60)})
    assert _queries(client, 15) == small


def test_research_export_holds_no_direct_identifier(practice):
    rows = research_rows(practice.director, rng=random.Random(7))
    text = "\n".join(",".join(row) for row in rows)
    assert len(rows) == 13 * 2 + 1  # every partner of every finished case, and the drop-out
    for person in Client.objects.all():
        for value in (person.first_name, person.last_name, person.email, person.phone):
            if value:
                assert value not in text
        if person.date_of_birth:
            assert person.date_of_birth.isoformat() not in text
    for case in Case.objects.all():
        assert case.reference and case.reference not in text
    # No exact date: every date column differs from the true date of that field (the finished cases
    # all share their true dates, see outcomes_support).
    header = columns()
    true_days = {
        "treatment_start": "2026-04-16",
        "treatment_end": "2026-06-15",
        "CSI16_baseline_date": "2026-03-17",
        "CSI16_end_date": "2026-06-14",
        "PHQ9_baseline_date": "2026-03-17",
        "PHQ9_end_date": "2026-06-14",
    }
    for row in rows:
        for column, true_day in true_days.items():
            assert row[header.index(column)] != true_day
    assert not {"name", "email", "phone", "date_of_birth", "reference"} & set(header)
    ages = {row[header.index("age_band")] for row in rows}
    assert ages <= {"35-44", "45-54", "25-34", "unknown"}


def test_research_dates_keep_intervals_within_a_case(practice):
    header = columns()
    rows = research_rows(practice.director, rng=random.Random(3))
    import datetime as dt

    for row in rows:
        if row[header.index("dropout")] == "yes":
            continue
        start = dt.date.fromisoformat(row[header.index("treatment_start")])
        end = dt.date.fromisoformat(row[header.index("treatment_end")])
        assert (end - start).days == 60
        assert end != ENDED.date()


def test_research_download_and_command_are_audited(client, practice, tmp_path):
    from django.core.management import call_command

    from tandem.audit.models import AuditEvent

    login(client, practice.director)
    response = client.get(reverse("outcomes:research_csv"))
    assert response.status_code == 200
    assert response.content.decode().splitlines()[0] == ",".join(columns())
    out = tmp_path / "research.csv"
    call_command("outcomes_research_export", "--director", practice.director.username, "--out", str(out))
    assert len(out.read_text().splitlines()) == 28
    assert AuditEvent.objects.filter(action="outcomes.export_research").count() == 2


def test_end_score_is_the_last_one_up_to_two_weeks_after_treatment(cast):
    """A questionnaire filled in a week after the move to follow-up is the end score; one at the 3-month
    follow-up is not; a partner with only a baseline is not measured."""
    import datetime as dt
    from decimal import Decimal

    from tandem.measures.models import Instrument, Response
    from tandem.outcomes.selectors import case_facts, partner_outcomes

    load_instruments()
    case = finished_couple(1, cast.director, scores={"PHQ9": (15, 14)})
    phq9 = Instrument.objects.get(code="PHQ9")
    for days, total in ((7, 5), (90, 20)):
        Response.objects.create(
            instrument=phq9,
            instrument_version="1.0",
            client=case.partner_a,
            case=case,
            answered_at=ENDED + dt.timedelta(days=days),
            answers={},
            total=Decimal(total),
        )
    Response.objects.filter(client=case.partner_b).exclude(total=15).delete()
    rows, _sd = partner_outcomes(cast.director, "PHQ9", case_facts(cast.director))
    by_role = {row.role: row for row in rows}
    assert (by_role["A"].outcome.baseline, by_role["A"].outcome.end) == (Decimal(15), Decimal(5))
    assert by_role["A"].outcome.category == "recovered"
    assert by_role["B"].outcome.end is None and by_role["B"].outcome.category == "not_measured"


def test_gains_kept_at_three_and_six_months(client, practice):
    """The intensive couples recovered on the PHQ-9 (15 to 4); at 3 months they score 5 (still reliably
    better than 15), at 6 months 14 (no longer reliably better)."""
    import datetime as dt
    from decimal import Decimal

    from tandem.measures.models import Instrument, Response

    phq9 = Instrument.objects.get(code="PHQ9")
    for case in Case.objects.filter(treatment_plans__format="intensive"):
        for person in case.partners:
            for days, total in ((90, 5), (182, 14)):
                Response.objects.create(
                    instrument=phq9,
                    instrument_version="1.0",
                    client=person,
                    case=case,
                    answered_at=ENDED + dt.timedelta(days=days),
                    answers={},
                    total=Decimal(total),
                )
    outcome_rows_refresh()
    login(client, practice.director)
    html = client.get(reverse("outcomes:practice"), {"instrument": "PHQ9"}).content.decode()
    # Scored and kept at 3 months, scored and kept at 6 months; improved by the end of treatment.
    assert _cells(html, "Gains kept at follow-up", "All cases") == ["12", "12", "12", "<5", "12"]
