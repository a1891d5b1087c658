from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from tandem.access.clinical import can_read_outcomes
from tandem.access.services import deny
from tandem.audit.services import audit_record
from tandem.lib import svg
from tandem.lib.jinja import fragment
from tandem.lib.time import local_today
from tandem.outcomes import report
from tandem.outcomes.forms import OutcomeFilterForm
from tandem.outcomes.research import as_csv, columns, research_rows
from tandem.outcomes.summary import practice_tables, practice_tables_page


def _allowed_filters(request: HttpRequest, what: str) -> tuple[OutcomeFilterForm, report.Filters | None]:
    if not can_read_outcomes(request.user):
        raise deny(request.user, what="outcomes", object_id=what)
    form = OutcomeFilterForm(request.GET)
    filters = form.filters() if form.is_valid() else None
    detail = (
        {k: v for k, v in vars(filters).items() if v} if filters else {"invalid_filters": sorted(form.errors)}
    )
    audit_record(actor=request.user, action=f"outcomes.{what}", detail=detail)
    return form, filters


@require_safe
def practice(request: HttpRequest) -> HttpResponse:
    """The director's outcomes page: tables by the chosen grouping, a chart of the partner outcomes."""
    form, filters = _allowed_filters(request, "view")
    context: dict[str, object] = {"nav": "outcomes", "form": form, "filters": filters}
    if filters is not None:
        tables, sd, groups = practice_tables_page(request.user, filters, page=request.GET.get("page"))
        group_label = report.DIMENSIONS[filters.by]
        tables_html = fragment(
            "outcomes/_tables.jinja",
            {"tables": tables, "group_label": group_label, "instrument": filters.instrument},
        )
        context.update(
            groups=groups,
            group_label=group_label,
            tables=tables,
            tables_html=tables_html,
            practice_sd=sd,
            chart=mark_safe(  # noqa: S308 - svg.bar_chart escapes every text it writes
                svg.bar_chart(
                    chart_id="outcomes-chart",
                    title=f"Partners by outcome on {filters.instrument}",
                    description="Counts of partners in each outcome category for the cases shown; "
                    "a figure from fewer than five cases has no bar and reads <5.",
                    bars=report.chart_bars(tables[0]),
                )
            ),
        )
    return render(request, "outcomes/practice.html", context)


@require_safe
def practice_csv(request: HttpRequest) -> HttpResponse:
    """The page's tables as CSV, suppressed exactly as on the page."""
    form, filters = _allowed_filters(request, "export_csv")
    if filters is None:
        return render(request, "outcomes/practice.html", {"nav": "outcomes", "form": form}, status=400)
    tables, _sd = practice_tables(request.user, filters)
    group = report.DIMENSIONS[filters.by]
    lines: list[list[str]] = []
    for table in tables:
        # Each table starts with its own heading row, since the three tables have different columns.
        lines.append([table.title, group, *table.columns, table.total_label])
        lines += [[table.title, row.label, *row.cells, row.total] for row in table.rows]
    header = ["Measure", filters.instrument]
    response = HttpResponse(as_csv(header, lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="outcomes-{filters.instrument}-{local_today()}.csv"'
    )
    return response


@require_safe
def research_csv(request: HttpRequest) -> HttpResponse:
    """The de-identified research export (see outcomes/research.py for what it keeps and drops)."""
    if not can_read_outcomes(request.user):
        raise deny(request.user, what="outcomes", object_id="research")
    rows = research_rows(request.user)
    audit_record(actor=request.user, action="outcomes.export_research", detail={"rows": len(rows)})
    response = HttpResponse(as_csv(columns(), rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="outcomes-research-{local_today()}.csv"'
    return response
