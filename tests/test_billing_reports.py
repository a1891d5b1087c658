"""The director's aged receivables and revenue: figures, access, CSV (injection-safe), fixed query counts."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tandem.billing import services
from tandem.billing.charging import client_payer
from tandem.billing.models import Charge, ChargeKind
from tandem.billing.reports import aged_receivables, revenue, safe_cell
from tandem.lib.time import local_today
from tests.billing_support import attend, book, insurer, issued, paid, set_fees
from tests.cast import login

pytestmark = pytest.mark.django_db

PAGES = [
    "billing_reports:aged",
    "billing_reports:aged_csv",
    "billing_reports:revenue",
    "billing_reports:revenue_csv",
]


@pytest.fixture
def ledger(cast):
    alex = client_payer(cast.couple_case.partner_a)
    blair = client_payer(cast.couple_case.partner_b)
    issued(cast, alex, "100.00", 10)
    partly = issued(cast, alex, "200.00", 45)
    paid(cast, alex, "50.00", partly, method="cash")
    issued(cast, blair, "300.00", 75)
    issued(cast, blair, "400.00", 120)
    # Boundaries: 30 days is still the first bucket, 31 the second, 90 the third, 91 the fourth.
    issued(cast, blair, "1.00", 30)
    issued(cast, blair, "2.00", 31)
    issued(cast, blair, "4.00", 90)
    issued(cast, blair, "8.00", 91)
    settled = issued(cast, alex, "70.00", 20)
    paid(cast, alex, "70.00", settled)
    gone = issued(cast, blair, "999.00", 200)
    services.invoice_write_off(actor=cast.coordinator, invoice=gone, reason="Moved abroad, unreachable")
    return alex, blair


def test_aged_buckets_per_payer_and_total(cast, ledger):
    report = aged_receivables(today=local_today())
    assert report.total.cells == [Decimal("101.00"), Decimal("152.00"), Decimal("304.00"), Decimal("408.00")]
    assert report.total.total == Decimal("965.00")
    by_name = {row.label: row for row in report.rows}
    assert by_name["Blair Partner"].cells == [
        Decimal("1.00"),
        Decimal("2.00"),
        Decimal("304.00"),
        Decimal("408.00"),
    ]
    assert by_name["Alex Partner"].cells == [
        Decimal("100.00"),
        Decimal("150.00"),
        Decimal("0.00"),
        Decimal("0.00"),
    ]
    assert [row.label for row in report.rows] == ["Blair Partner", "Alex Partner"]  # largest balance first


def test_revenue_by_month_therapist_and_format(cast):
    set_fees(cast.director)
    for days, kind in ((10, "standard"), (40, "standard"), (40, "joint_assessment")):
        appointment = attend(cast, book(cast, days=days, kind=kind, hour=10 if kind == "standard" else 13))
        services.charges_reconcile(actor=cast.director, appointment_id=appointment.pk)
    reversed_one = attend(cast, book(cast, days=12, hour=15))
    services.charges_reconcile(actor=cast.director, appointment_id=reversed_one.pk)
    # Corrected to a no-show: the session charge is reversed, the no-show fee waived; neither is revenue.
    attend(cast, reversed_one, status="no_show")
    services.charges_reconcile(actor=cast.director, appointment_id=reversed_one.pk)
    fee = Charge.objects.get(appointment=reversed_one, kind=ChargeKind.NO_SHOW)
    services.charge_waive(actor=cast.coordinator, charge=fee, reason="First missed session")
    today = local_today()
    report = revenue(date_from=today, date_to=today + dt.timedelta(days=60))
    assert report.total == Decimal("405.00")
    assert sum(amount for _, amount in report.months) == report.total
    assert dict(report.formats) == {
        "Standard session": Decimal("240.00"),
        "Joint assessment": Decimal("165.00"),
    }
    assert dict(report.therapists) == {"Tess Assigned": Decimal("405.00")}


@pytest.mark.parametrize("who", ["coordinator", "therapist_a", "partner_a", "partner_b"])
@pytest.mark.parametrize("name", PAGES)
def test_only_the_director_reads_the_reports(client, cast, who, name):
    login(client, getattr(cast, who))
    assert client.get(reverse(name)).status_code == 404


@pytest.mark.parametrize("name", PAGES)
def test_logged_out_gets_nothing(client, cast, name):
    assert client.get(reverse(name)).status_code in (302, 404)


def test_director_pages_and_csv(client, cast, ledger):
    login(client, cast.director)
    html = client.get(reverse("billing_reports:aged")).content.decode()
    assert "Blair Partner" in html and "965.00" in html and "<caption>" in html
    body = client.get(reverse("billing_reports:aged_csv")).content.decode()
    assert body.splitlines()[0].startswith("Payer,Kind,0-30 days")
    assert "All payers,,101.00,152.00,304.00,408.00,965.00" in body
    assert client.get(reverse("billing_reports:revenue")).status_code == 200
    revenue_csv = client.get(reverse("billing_reports:revenue_csv"))
    assert revenue_csv["Content-Type"].startswith("text/csv")
    assert revenue_csv.content.decode().startswith("Month,Therapist,Format,Charged (EUR)")


def test_payers_are_counted_only_as_far_as_anyone_pages_and_the_csv_lists_all(cast, ledger, monkeypatch):
    monkeypatch.setattr("tandem.billing.reports.PAYER_COUNT_CAP", 1)
    capped = aged_receivables(today=local_today(), per_page=1)
    assert capped.page.paginator.capped and capped.page.paginator.count == 1
    assert [row.label for row in capped.rows] == ["Blair Partner"]  # the larger balance first
    # Pages past the count are not offered: the page asked for falls back to the last one counted.
    assert aged_receivables(today=local_today(), page=2, per_page=1).page.number == 1
    every = aged_receivables(today=local_today(), per_page=10**9)
    assert not every.page.paginator.capped and every.page.paginator.count == 2
    assert every.total.total == capped.total.total == Decimal("965.00")


def test_bad_period_is_explained_and_shows_no_figures(client, cast):
    login(client, cast.director)
    for params in ({"date_from": "2026-13-01"}, {"date_from": "2026-05-01", "date_to": "2026-01-01"}):
        response = client.get(reverse("billing_reports:revenue"), params)
        assert response.status_code == 400
        assert "could not be used" in response.content.decode()
        assert client.get(reverse("billing_reports:revenue_csv"), params).status_code == 400


def test_csv_cells_are_never_formulas(client, cast):
    hostile = insurer('=HYPERLINK("http://x.invalid")')
    issued(cast, hostile, "10.00", 5)
    login(client, cast.director)
    body = client.get(reverse("billing_reports:aged_csv")).content.decode()
    assert "'=HYPERLINK" in body and "\n=HYPERLINK" not in body
    for value in ("+1", "-1+1", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(value).startswith("'")
    assert safe_cell(Decimal("-5.00")) == "-5.00" and safe_cell("Alex") == "Alex"


def _queries(client, name: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse(name)).status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    "name", ["billing_reports:aged", "billing_reports:aged_csv", "billing_reports:revenue"]
)
def test_report_queries_do_not_grow_with_the_data(client, cast, name):
    set_fees(cast.director)
    login(client, cast.director)
    issued(cast, insurer("Insurer 0"), "10.00", 5)
    small = _queries(client, name)
    for n in range(1, 12):
        payer = insurer(f"Insurer {n}")
        for days in (5, 40, 70, 100):
            issued(cast, payer, "10.00", days)
    for days in (5, 9):
        appointment = attend(cast, book(cast, days=days))
        services.charges_reconcile(actor=cast.director, appointment_id=appointment.pk)
    assert _queries(client, name) == small
    assert small <= 16  # log-in, second factor, audit row and the report's own few
