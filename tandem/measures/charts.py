"""Progress charts for clinicians: each questionnaire's totals over time, with its bands and cut-off.

Couple measures put both partners on one chart; the others get one chart per partner. Reliable change
(Jacobson & Truax) is judged against each partner's first scored response and marked on the point.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.safestring import SafeString, mark_safe

from tandem.cases.models import Case, Client
from tandem.lib import svg
from tandem.lib.time import practice_zone
from tandem.measures import engine, policy
from tandem.measures.models import Instrument, Response

# Light fills from least to most severe (text on them keeps AA contrast).
SEVERITY_FILLS = ("#e9f4ec", "#f4f3e2", "#fbf0de", "#fae5dc", "#f6dada")

VERDICT_TEXT = {"improved": "reliable improvement", "deteriorated": "reliable deterioration"}


def is_couple_measure(code: str) -> bool:
    return code in {policy.COUPLE_INSTRUMENT, policy.COUPLE_BRIEF_INSTRUMENT, "CSI16", "CSI4"}


def number(value: Decimal | float | int | None) -> str:
    """40.0 as "40", 26.5 as "26.5"."""
    return "" if value is None else format(Decimal(str(value)).normalize(), "f")


def band_label(name: str | None) -> str:
    return (name or "").replace("_", " ")


@dataclass
class Row:
    response: Response
    change: engine.ReliableChange | None = None

    @property
    def verdict_text(self) -> str:
        return VERDICT_TEXT.get(self.change.verdict, "") if self.change else ""


@dataclass
class Chart:
    chart_id: str
    instrument: Instrument
    clients: list[Client]
    rows: list[Row] = field(default_factory=list)
    svg: SafeString = field(default_factory=lambda: SafeString(""))
    description: str = ""
    reliable_change_note: str = ""

    @property
    def title(self) -> str:
        who = " and ".join(c.first_name for c in self.clients)
        return f"{self.instrument.title}: {who}"


def _bands(definition: dict[str, Any]) -> list[svg.Band]:
    scoring = definition["scoring"]
    bands = scoring.get("bands", [])
    # Order by severity: for a "higher is better" scale the lowest band is the most severe.
    by_severity = bands if scoring.get("higher_is") != "better" else list(reversed(bands))
    fills = {}
    for rank, band in enumerate(by_severity):
        step = 0 if len(by_severity) == 1 else rank * (len(SEVERITY_FILLS) - 1) // (len(by_severity) - 1)
        fills[band["name"]] = SEVERITY_FILLS[step]
    return [
        svg.Band(float(b["min"]), float(b["max"]), band_label(b["name"]), fills[b["name"]]) for b in bands
    ]


def _local_day(response: Response) -> Any:
    return response.answered_at.astimezone(practice_zone()).date()


def _describe(chart: Chart, definition: dict[str, Any]) -> str:
    sentences = []
    for client in chart.clients:
        scored = [r for r in chart.rows if r.response.client_id == client.pk and r.response.total is not None]
        if not scored:
            sentences.append(f"{client.first_name}: no scored responses yet.")
            continue
        first, last = scored[0].response, scored[-1].response
        text = (
            f"{client.first_name}: {len(scored)} scored response{'s' if len(scored) != 1 else ''}, "
            f"from {number(first.total)} ({band_label(first.band)}) on {_local_day(first):%d %b %Y}"
        )
        if len(scored) > 1:
            text += f" to {number(last.total)} ({band_label(last.band)}) on {_local_day(last):%d %b %Y}"
        if scored[-1].verdict_text:
            text += f"; {scored[-1].verdict_text} since the first"
        sentences.append(text + ".")
    cutoff = definition["scoring"].get("cutoff")
    higher = definition["scoring"].get("higher_is")
    if cutoff is not None:
        sentences.append(f"Clinical cut-off {number(cutoff)}; higher scores are {higher}.")
    return " ".join(sentences)


def _with_changes(definition: dict[str, Any], responses: list[Response]) -> list[Row]:
    rows = []
    baseline: dict[int, Decimal] = {}
    for response in responses:
        change = None
        if response.total is not None:
            if response.client_id in baseline:
                change = engine.reliable_change(definition, baseline[response.client_id], response.total)
            else:
                baseline[response.client_id] = response.total
        rows.append(Row(response, change))
    return rows


def _render(chart: Chart) -> None:
    definition = chart.instrument.definition
    scoring = definition["scoring"]
    series = []
    for client in chart.clients:
        line = svg.LineSeries(client.first_name)
        for row in chart.rows:
            if row.response.client_id == client.pk and row.response.total is not None:
                line.points.append(
                    svg.ChartPoint(_local_day(row.response), float(row.response.total), row.verdict_text)
                )
        series.append(line)
    chart.description = _describe(chart, definition)
    values = scoring.get("reliable_change") or {}
    if values.get("reliability") is None or values.get("norm_sd") is None:
        chart.reliable_change_note = (
            "Reliable change is not shown: the definition has no published reliability and norm SD."
        )
    cutoff = scoring.get("cutoff")
    chart.svg = mark_safe(  # noqa: S308 - svg.line_chart escapes every text and attribute it writes
        svg.line_chart(
            chart_id=chart.chart_id,
            title=chart.title,
            description=chart.description,
            y_min=float(scoring["total"].get("min", 0)),
            y_max=float(scoring["total"].get("max", 0)),
            series=series,
            bands=_bands(definition),
            cutoff=float(cutoff) if cutoff is not None else None,
            cutoff_label=f"cut-off {number(cutoff)}" if cutoff is not None else "",
        )
    )


def charts_for(case: Case, responses: Iterable[Response]) -> list[Chart]:
    """Charts for every questionnaire with responses in this case (responses oldest first, any order in)."""
    ordered = sorted(responses, key=lambda r: (r.answered_at, r.pk))
    by_instrument: dict[str, list[Response]] = {}
    instruments: dict[str, Instrument] = {}
    for response in ordered:
        by_instrument.setdefault(response.instrument.code, []).append(response)
        instruments[response.instrument.code] = response.instrument
    charts = []
    # Couple measures first, then the rest in library order.
    for code in sorted(by_instrument, key=lambda c: (not is_couple_measure(c), c)):
        instrument, group = instruments[code], by_instrument[code]
        if is_couple_measure(code):
            clients = [c for c in case.partners if any(r.client_id == c.pk for r in group)]
            groups = [(clients, group)]
        else:
            groups = [
                ([c], [r for r in group if r.client_id == c.pk])
                for c in case.partners
                if any(r.client_id == c.pk for r in group)
            ]
        for clients, members in groups:
            chart = Chart(
                chart_id=f"chart-{code.lower()}-{'-'.join(str(c.pk) for c in clients)}",
                instrument=instrument,
                clients=clients,
                rows=_with_changes(instrument.definition, members),
            )
            _render(chart)
            charts.append(chart)
    return charts
