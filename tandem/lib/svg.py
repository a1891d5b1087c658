"""A small server-side SVG line chart: accessible (role="img", <title>, <desc>), no script, no CDN.

Pages pair every chart with a data table; the SVG is the picture, the table is the record. Colours are
presentation attributes (the CSP forbids inline style), and each series also differs by marker shape
and dash so that colour is never the only difference.
"""

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

WIDTH, HEIGHT = 640, 280
LEFT, RIGHT, TOP, BOTTOM = 48, 20, 16, 52

# Two series styles that differ in colour (AA contrast on white), marker and dash.
SERIES_STYLES = (
    {"colour": "#1f4e79", "shape": "circle", "dash": ""},
    {"colour": "#8a3b00", "shape": "square", "dash": "6 4"},
    {"colour": "#3c6e2f", "shape": "diamond", "dash": "2 3"},
)


@dataclass(frozen=True)
class Band:
    low: float
    high: float
    label: str
    fill: str


@dataclass(frozen=True)
class ChartPoint:
    day: dt.date
    value: float
    # Short text drawn beside the point, e.g. "reliable improvement"; the marker is drawn too.
    note: str = ""


@dataclass
class LineSeries:
    label: str
    points: list[ChartPoint] = field(default_factory=list)


def _attrs(attrs: dict[str, object]) -> str:
    return "".join(f' {name}="{escape(str(value))}"' for name, value in attrs.items() if value != "")


def _el(tag: str, attrs: dict[str, object], body: str = "") -> str:
    if body:
        return f"<{tag}{_attrs(attrs)}>{body}</{tag}>"
    return f"<{tag}{_attrs(attrs)}/>"


def _marker(shape: str, x: float, y: float, colour: str) -> str:
    if shape == "square":
        return _el(
            "rect", {"x": f"{x - 4.5:.1f}", "y": f"{y - 4.5:.1f}", "width": 9, "height": 9, "fill": colour}
        )
    if shape == "diamond":
        points = f"{x:.1f},{y - 6:.1f} {x + 6:.1f},{y:.1f} {x:.1f},{y + 6:.1f} {x - 6:.1f},{y:.1f}"
        return _el("polygon", {"points": points, "fill": colour})
    return _el("circle", {"cx": f"{x:.1f}", "cy": f"{y:.1f}", "r": 5, "fill": colour})


LABEL_GAP = 80  # px between date labels, so that they never overlap


def _thinned(days: list[dt.date], x_of: Callable[[dt.date], float]) -> list[dt.date]:
    """Date labels far enough apart to read; the first and the last day are always labelled."""
    kept: list[dt.date] = []
    for day in days:
        if not kept or x_of(day) - x_of(kept[-1]) >= LABEL_GAP:
            kept.append(day)
    if days and kept[-1] != days[-1]:
        if len(kept) > 1 and x_of(days[-1]) - x_of(kept[-1]) < LABEL_GAP:
            kept.pop()
        kept.append(days[-1])
    return kept


def line_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    y_min: float,
    y_max: float,
    series: Sequence[LineSeries],
    bands: Sequence[Band] = (),
    cutoff: float | None = None,
    cutoff_label: str = "",
) -> str:
    """The SVG markup (escaped throughout; safe to mark safe)."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    span = (y_max - y_min) or 1.0
    days = sorted({p.day for s in series for p in s.points})
    first = days[0] if days else dt.date.today()
    total_days = (days[-1] - first).days if days else 0

    def x_of(day: dt.date) -> float:
        if total_days == 0:
            return LEFT + plot_w / 2
        return LEFT + plot_w * (day - first).days / total_days

    def y_of(value: float) -> float:
        clamped = min(max(value, y_min), y_max)
        return TOP + plot_h * (1 - (clamped - y_min) / span)

    parts = [_el("title", {"id": f"{chart_id}-title"}, escape(title))]
    parts.append(_el("desc", {"id": f"{chart_id}-desc"}, escape(description)))
    for band in bands:
        top, bottom = y_of(band.high), y_of(band.low)
        parts.append(
            _el(
                "rect",
                {
                    "x": LEFT,
                    "y": f"{top:.1f}",
                    "width": plot_w,
                    "height": f"{max(bottom - top, 1):.1f}",
                    "fill": band.fill,
                },
            )
        )
        parts.append(
            _el(
                "text",
                {
                    "x": WIDTH - RIGHT - 4,
                    "y": f"{top + 12:.1f}",
                    "text-anchor": "end",
                    "font-size": 10,
                    "fill": "#4d5866",
                },
                escape(band.label),
            )
        )
    # Axis labels at the bottom, the top and the cut-off.
    for value in (y_min, y_max):
        parts.append(
            _el(
                "text",
                {
                    "x": LEFT - 6,
                    "y": f"{y_of(value) + 4:.1f}",
                    "text-anchor": "end",
                    "font-size": 11,
                    "fill": "#1d2530",
                },
                escape(f"{value:g}"),
            )
        )
    parts.append(
        _el(
            "rect",
            {"x": LEFT, "y": TOP, "width": plot_w, "height": plot_h, "fill": "none", "stroke": "#8a96a5"},
        )
    )
    if cutoff is not None:
        cy = y_of(cutoff)
        parts.append(
            _el(
                "line",
                {
                    "x1": LEFT,
                    "x2": LEFT + plot_w,
                    "y1": f"{cy:.1f}",
                    "y2": f"{cy:.1f}",
                    "stroke": "#a11d2b",
                    "stroke-width": 1.5,
                    "stroke-dasharray": "8 4",
                },
            )
        )
        parts.append(
            _el(
                "text",
                {"x": LEFT + 4, "y": f"{cy - 4:.1f}", "font-size": 11, "fill": "#a11d2b"},
                escape(cutoff_label or f"cut-off {cutoff:g}"),
            )
        )
    for day in _thinned(days, x_of):
        x = x_of(day)
        anchor = "start" if x < LEFT + 30 else "end" if x > WIDTH - RIGHT - 30 else "middle"
        parts.append(
            _el(
                "text",
                {
                    "x": f"{x:.1f}",
                    "y": TOP + plot_h + 16,
                    "text-anchor": anchor,
                    "font-size": 11,
                    "fill": "#1d2530",
                },
                escape(day.strftime("%d %b %Y")),
            )
        )
    legend_x = LEFT
    for index, line in enumerate(series):
        style = SERIES_STYLES[index % len(SERIES_STYLES)]
        coords = [(x_of(p.day), y_of(p.value), p) for p in line.points]
        if len(coords) > 1:
            parts.append(
                _el(
                    "polyline",
                    {
                        "points": " ".join(f"{x:.1f},{y:.1f}" for x, y, _p in coords),
                        "fill": "none",
                        "stroke": style["colour"],
                        "stroke-width": 2,
                        "stroke-dasharray": style["dash"],
                    },
                )
            )
        for x, y, point in coords:
            parts.append(_marker(style["shape"], x, y, style["colour"]))
            if point.note:
                parts.append(
                    _el(
                        "circle",
                        {
                            "cx": f"{x:.1f}",
                            "cy": f"{y:.1f}",
                            "r": 9,
                            "fill": "none",
                            "stroke": style["colour"],
                            "stroke-width": 2,
                        },
                    )
                )
                parts.append(
                    _el(
                        "text",
                        {
                            "x": f"{min(x + 10, WIDTH - RIGHT - 4):.1f}",
                            "y": f"{y - 10:.1f}",
                            "text-anchor": "end" if x + 10 > WIDTH - RIGHT - 120 else "start",
                            "font-size": 11,
                            "font-weight": 700,
                            "fill": style["colour"],
                        },
                        escape(point.note),
                    )
                )
        legend_y = HEIGHT - 14
        parts.append(_marker(style["shape"], legend_x + 6, legend_y - 4, style["colour"]))
        parts.append(
            _el(
                "text",
                {"x": legend_x + 16, "y": legend_y, "font-size": 12, "fill": "#1d2530"},
                escape(line.label),
            )
        )
        legend_x += 24 + 8 * len(line.label)
    body = "".join(parts)
    return _el(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "viewBox": f"0 0 {WIDTH} {HEIGHT}",
            "width": "100%",
            "role": "img",
            "aria-labelledby": f"{chart_id}-title {chart_id}-desc",
            "class": "measure-chart",
            "font-family": "system-ui, sans-serif",
            "id": chart_id,
        },
        body,
    )


def bar_chart(*, chart_id: str, title: str, description: str, bars: Sequence[tuple[str, int | None]]) -> str:
    """Vertical bars, one per labelled count; a count of None (suppressed) gets no bar, only its label
    and "<5", so that the picture never shows what the table hides."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = max([value for _label, value in bars if value is not None] + [1])
    slot = plot_w / max(len(bars), 1)
    parts = [
        _el("title", {"id": f"{chart_id}-title"}, escape(title)),
        _el("desc", {"id": f"{chart_id}-desc"}, escape(description)),
    ]
    parts.append(
        _el(
            "line",
            {"x1": LEFT, "y1": TOP + plot_h, "x2": LEFT + plot_w, "y2": TOP + plot_h, "stroke": "#555"},
        )
    )
    for n, (label, value) in enumerate(bars):
        x = LEFT + n * slot
        centre = x + slot / 2
        text = "<5" if value is None else str(value)
        height = 0.0 if value is None else plot_h * value / top
        if value is not None:
            parts.append(
                _el(
                    "rect",
                    {
                        "x": f"{x + slot * 0.2:.1f}",
                        "y": f"{TOP + plot_h - height:.1f}",
                        "width": f"{slot * 0.6:.1f}",
                        "height": f"{height:.1f}",
                        "fill": SERIES_STYLES[0]["colour"],
                    },
                )
            )
        value_y = TOP + plot_h - height - 4
        parts.append(
            _el(
                "text",
                {"x": f"{centre:.1f}", "y": f"{value_y:.1f}", "text-anchor": "middle", "font-size": 12},
                escape(text),
            )
        )
        parts.append(
            _el(
                "text",
                {"x": f"{centre:.1f}", "y": HEIGHT - BOTTOM + 18, "text-anchor": "middle", "font-size": 12},
                escape(label),
            )
        )
    return _el(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "viewBox": f"0 0 {WIDTH} {HEIGHT}",
            "width": "100%",
            "role": "img",
            "aria-labelledby": f"{chart_id}-title {chart_id}-desc",
            "class": "measure-chart",
            "font-family": "system-ui, sans-serif",
            "id": chart_id,
        },
        "".join(parts),
    )
