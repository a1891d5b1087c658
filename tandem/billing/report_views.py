"""The director's financial reports: aged receivables and revenue, each with its CSV (thin views; the
figures come from billing/reports.py, the permission from tandem/access/finance.py)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from tandem.access.finance import can_see_finance_reports
from tandem.access.services import deny
from tandem.audit.services import audit_record
from tandem.billing import reports
from tandem.billing.money import currency
from tandem.billing.report_forms import PeriodForm
from tandem.lib.jinja import fragment
from tandem.lib.time import local_today


def _allowed(request: HttpRequest, what: str) -> None:
    if not can_see_finance_reports(request.user):
        raise deny(request.user, what="finance_report", object_id=what)
    audit_record(actor=request.user, action=f"billing.report_{what}")


def _csv(body: str, name: str) -> HttpResponse:
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{local_today()}.csv"'
    return response


@require_safe
def aged(request: HttpRequest) -> HttpResponse:
    _allowed(request, "aged_receivables")
    report = reports.aged_receivables(today=local_today(), page=request.GET.get("page") or 1)
    table = fragment("billing/_aged_table.jinja", {"report": report, "buckets": reports.BUCKETS})
    context = {"nav": "billing_reports", "report": report, "table": table, "currency": currency()}
    return render(request, "billing/reports/aged.html", context)


@require_safe
def aged_csv(request: HttpRequest) -> HttpResponse:
    _allowed(request, "aged_receivables_csv")
    total, rows = reports.aged_receivables_all(today=local_today())
    lines = [[row.label, row.kind, *row.cells, row.total] for row in [*rows, total]]
    body = reports.as_csv(["Payer", "Kind", *reports.BUCKETS, f"Total ({currency()})"], lines)
    return _csv(body, "aged-receivables")


def _period(request: HttpRequest) -> tuple[PeriodForm, reports.RevenueReport | None]:
    form = PeriodForm(request.GET)
    if not form.is_valid():
        return form, None
    data = form.cleaned_data
    return form, reports.revenue(date_from=data["date_from"], date_to=data["date_to"])


@require_safe
def revenue(request: HttpRequest) -> HttpResponse:
    _allowed(request, "revenue")
    form, report = _period(request)
    context = {"nav": "billing_reports", "form": form, "report": report, "currency": currency()}
    return render(request, "billing/reports/revenue.html", context, status=200 if report else 400)


@require_safe
def revenue_csv(request: HttpRequest) -> HttpResponse:
    _allowed(request, "revenue_csv")
    form, report = _period(request)
    if report is None:
        context = {"nav": "billing_reports", "form": form, "currency": currency()}
        return render(request, "billing/reports/revenue.html", context, status=400)
    lines = [[f"{month:%Y-%m}", therapist, fmt, amount] for month, therapist, fmt, amount in report.cube]
    body = reports.as_csv(["Month", "Therapist", "Format", f"Charged ({currency()})"], lines)
    return _csv(body, "revenue")
