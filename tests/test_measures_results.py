"""The clinicians' results page: access, charts (SVG, cut-off, bands, reliable change), items, entry."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tandem.measures import charts
from tandem.measures.loader import load_instruments
from tandem.measures.models import Response
from tests.cast import login
from tests.measures_support import PHQ9_CALM, csi16, phq9, record


@pytest.fixture
def library(db):
    load_instruments()


def results_url(case) -> str:
    return reverse("measures:case", kwargs={"case_id": case.pk})


@pytest.fixture
def history(cast, library):
    case = cast.couple_case
    t = cast.therapist_a
    record(t, case, case.partner_a, "CSI16", csi16(40), days_ago=60)
    record(t, case, case.partner_b, "CSI16", csi16(45), days_ago=59)
    record(t, case, case.partner_a, "CSI16", csi16(58), days_ago=5)
    record(t, case, case.partner_a, "PHQ9", phq9(3, 3, 2, 2, 2, 2, 2, 1, 0), days_ago=60)  # 17
    record(t, case, case.partner_a, "PHQ9", phq9(1, 1, 1, 0, 0, 0, 0, 0, 0), days_ago=5)  # 3
    return cast


@pytest.mark.parametrize("who", ["therapist_a", "cotherapist", "director"])
def test_case_clinicians_see_the_results(client, history, who):
    login(client, getattr(history, who))
    assert client.get(results_url(history.couple_case)).status_code == 200


@pytest.mark.parametrize("who", ["therapist_b", "coordinator", "partner_a", "partner_b"])
def test_everyone_else_gets_404(client, history, who):
    login(client, getattr(history, who))
    case = history.couple_case
    assert client.get(results_url(case)).status_code == 404
    response = Response.objects.filter(case=case).first()
    assert (
        client.get(
            reverse("measures:response", kwargs={"case_id": case.pk, "response_id": response.pk})
        ).status_code
        == 404
    )
    enter = reverse("measures:enter", kwargs={"case_id": case.pk})
    assert client.get(enter, {"client": case.partner_a_id, "code": "PHQ9"}).status_code == 404


def test_couple_chart_has_both_partners_cutoff_bands_and_a_table(client, history):
    login(client, history.therapist_a)
    page = client.get(results_url(history.couple_case)).content.decode()
    svg = re.search(r'<svg[^>]*id="chart-csi16-[^"]*".*?</svg>', page, re.S)
    assert svg is not None
    chart = svg.group(0)
    assert 'role="img"' in chart and "<title" in chart and "<desc" in chart
    assert "Couples Satisfaction Index (CSI-16): Alex and Blair" in chart
    assert "cut-off 51.5" in chart
    assert "not distressed" in chart and ">distressed<" in chart  # the band labels
    assert chart.count("<polyline") == 1  # Alex has two points, Blair one
    assert "Alex" in chart and "Blair" in chart
    # The accessible alternative: a data table with every response.
    assert "<td>40</td>" in page and "<td>45</td>" in page and "<td>58</td>" in page
    assert "Clinical cut-off 51.5; higher scores are better." in page


def test_reliable_change_is_marked_on_the_chart(client, history):
    login(client, history.therapist_a)
    page = client.get(results_url(history.couple_case)).content.decode()
    phq = re.search(r'<svg[^>]*id="chart-phq9-[^"]*".*?</svg>', page, re.S).group(0)
    # 17 -> 3 with r = .89, SD = 3.52: RCI = -14 / sqrt(2 * (3.52 * sqrt(.11))^2) = -8.48
    assert "reliable improvement" in phq
    assert "-8.48" in page
    assert "reliable improvement since the first" in page
    # CSI-16 has no published norm SD in its definition: said, not guessed.
    assert "Reliable change is not shown" in page


def test_chart_rows_and_rci_from_the_engine(history):
    case = history.couple_case
    built = charts.charts_for(case, Response.objects.filter(case=case).select_related("instrument", "client"))
    assert [c.instrument.code for c in built] == ["CSI16", "PHQ9"]
    phq = built[1]
    assert [r.verdict_text for r in phq.rows] == ["", "reliable improvement"]
    assert phq.rows[1].change.index == pytest.approx(-8.48, abs=0.01)


def test_deterioration_is_marked_too(cast, library):
    case = cast.couple_case
    record(cast.therapist_a, case, case.partner_b, "GAD7", {str(n): 0 for n in range(1, 8)}, days_ago=30)
    record(cast.therapist_a, case, case.partner_b, "GAD7", {str(n): 2 for n in range(1, 8)}, days_ago=1)
    built = charts.charts_for(case, Response.objects.filter(case=case).select_related("instrument", "client"))
    assert built[0].rows[1].verdict_text == "reliable deterioration"
    assert "reliable deterioration" in built[0].svg


def test_item_level_view_shows_each_answer(client, history):
    case = history.couple_case
    response = Response.objects.filter(case=case, instrument__code="PHQ9").order_by("answered_at").first()
    login(client, history.therapist_a)
    page = client.get(reverse("measures:response", kwargs={"case_id": case.pk, "response_id": response.pk}))
    text = page.content.decode()
    assert "Little interest or pleasure in doing things" in text
    assert "Nearly every day" in text and "Not at all" in text
    assert "17 (moderately severe)" in text


def test_response_of_another_case_is_404_even_for_its_clinician(client, history):
    solo = history.solo_case
    other = Response.objects.filter(case=history.couple_case).first()
    login(client, history.therapist_a)  # assigned to both cases
    url = reverse("measures:response", kwargs={"case_id": solo.pk, "response_id": other.pk})
    assert client.get(url).status_code == 404


def test_staff_enter_answers_on_a_clients_behalf(client, cast, library):
    case = cast.couple_case
    login(client, cast.therapist_a)
    enter = reverse("measures:enter", kwargs={"case_id": case.pk})
    assert client.get(enter, {"client": case.partner_b_id, "code": "PHQ9"}).status_code == 200
    data = {"client": case.partner_b_id, "code": "PHQ9", **{f"item_{k}": v for k, v in PHQ9_CALM.items()}}
    assert client.post(enter, data).status_code == 302
    saved = Response.objects.get()
    assert saved.client == case.partner_b and saved.entered_by == cast.therapist_a
    # A client of another case is not a partner here.
    assert client.get(enter, {"client": cast.solo_case.partner_a_id, "code": "PHQ9"}).status_code == 404
    assert client.get(enter, {"client": case.partner_b_id, "code": "NOPE"}).status_code == 404


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_results_page_query_count_is_constant(client, history):
    case = history.couple_case
    login(client, history.therapist_a)
    few = _count(client, results_url(case))
    for n in range(6):
        record(history.therapist_a, case, case.partner_b, "PHQ9", PHQ9_CALM, days_ago=50 - n)
        record(
            history.therapist_a,
            case,
            case.partner_b,
            "GAD7",
            {str(i): 1 for i in range(1, 8)},
            days_ago=50 - n,
        )
        record(
            history.therapist_a,
            case,
            case.partner_a,
            "FSFI",
            {str(i): 3 for i in range(1, 20)},
            days_ago=50 - n,
        )
    assert _count(client, results_url(case)) == few


def test_case_page_links_to_the_results(client, history):
    login(client, history.therapist_a)
    page = client.get(reverse("cases:detail", kwargs={"case_id": history.couple_case.pk})).content.decode()
    assert results_url(history.couple_case) in page
    login(client, history.coordinator)
    page = client.get(reverse("cases:detail", kwargs={"case_id": history.couple_case.pk})).content.decode()
    assert results_url(history.couple_case) not in page


def test_svg_escapes_text_and_keeps_date_labels_apart():
    import datetime as dt

    from tandem.lib import svg

    days = [dt.date(2026, 1, 1) + dt.timedelta(days=n) for n in range(0, 60, 2)]
    line = svg.LineSeries('<script>alert("x")</script>', [svg.ChartPoint(d, 10) for d in days])
    out = svg.line_chart(
        chart_id="t", title="A & B", description="<b>", y_min=0, y_max=20, series=[line], cutoff=10
    )
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert '<title id="t-title">A &amp; B</title>' in out
    labels = re.findall(r">(\d\d \w\w\w 2026)<", out)
    assert labels[0] == "01 Jan 2026" and labels[-1] == "28 Feb 2026"
    assert 2 < len(labels) < len(days)
