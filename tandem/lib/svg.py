"""A small server-side SVG line chart: accessible (role="img", <title>, <desc>), no script, no CDN.

Pages pair every chart with a data table; the SVG is the picture, the table is the record. Colours are
presentation attributes (the CSP forbids inline style), and each series also differs by marker shape
and dash so that colour is never the only difference.
"""

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
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


def _attrs(attrs: Mapping[str, object]) -> str:
    return "".join(f' {name}="{escape(str(value))}"' for name, value in attrs.items() if value != "")


def _el(tag: str, attrs: Mapping[str, object], body: str = "") -> str:
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


@dataclass(frozen=True)
class _Frame:
    """The plot area and its two scales: days along x, values (clamped to the range) up y."""

    y_min: float
    y_max: float
    days: list[dt.date]
    width: int = WIDTH - LEFT - RIGHT
    height: int = HEIGHT - TOP - BOTTOM

    def x_of(self, day: dt.date) -> float:
        total_days = (self.days[-1] - self.days[0]).days if self.days else 0
        if total_days == 0:
            return LEFT + self.width / 2
        return LEFT + self.width * (day - self.days[0]).days / total_days

    def y_of(self, value: float) -> float:
        span = (self.y_max - self.y_min) or 1.0
        clamped = min(max(value, self.y_min), self.y_max)
        return TOP + self.height * (1 - (clamped - self.y_min) / span)


def _band_parts(frame: _Frame, band: Band) -> list[str]:
    top, bottom = frame.y_of(band.high), frame.y_of(band.low)
    height = f"{max(bottom - top, 1):.1f}"
    return [
        _el(
            "rect", {"x": LEFT, "y": f"{top:.1f}", "width": frame.width, "height": height, "fill": band.fill}
        ),
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
        ),
    ]


def _axis_parts(frame: _Frame) -> list[str]:
    """Value labels at the bottom and the top of the range, and the plot's border."""
    parts = [
        _el(
            "text",
            {
                "x": LEFT - 6,
                "y": f"{frame.y_of(value) + 4:.1f}",
                "text-anchor": "end",
                "font-size": 11,
                "fill": "#1d2530",
            },
            escape(f"{value:g}"),
        )
        for value in (frame.y_min, frame.y_max)
    ]
    border = {
        "x": LEFT,
        "y": TOP,
        "width": frame.width,
        "height": frame.height,
        "fill": "none",
        "stroke": "#8a96a5",
    }
    parts.append(_el("rect", border))
    return parts


def _cutoff_parts(frame: _Frame, cutoff: float, label: str) -> list[str]:
    cy = frame.y_of(cutoff)
    line = {
        "x1": LEFT,
        "x2": LEFT + frame.width,
        "y1": f"{cy:.1f}",
        "y2": f"{cy:.1f}",
        "stroke": "#a11d2b",
        "stroke-width": 1.5,
        "stroke-dasharray": "8 4",
    }
    return [
        _el("line", line),
        _el(
            "text",
            {"x": LEFT + 4, "y": f"{cy - 4:.1f}", "font-size": 11, "fill": "#a11d2b"},
            escape(label or f"cut-off {cutoff:g}"),
        ),
    ]


def _date_parts(frame: _Frame) -> list[str]:
    parts = []
    for day in _thinned(frame.days, frame.x_of):
        x = frame.x_of(day)
        anchor = "start" if x < LEFT + 30 else "end" if x > WIDTH - RIGHT - 30 else "middle"
        attrs = {"x": f"{x:.1f}", "y": TOP + frame.height + 16, "text-anchor": anchor, "font-size": 11}
        parts.append(_el("text", {**attrs, "fill": "#1d2530"}, escape(day.strftime("%d %b %Y"))))
    return parts


def _note_parts(x: float, y: float, note: str, colour: str) -> list[str]:
    """A ring around a noted point and its note, kept inside the chart's right edge."""
    ring = {"cx": f"{x:.1f}", "cy": f"{y:.1f}", "r": 9, "fill": "none", "stroke": colour, "stroke-width": 2}
    text = {
        "x": f"{min(x + 10, WIDTH - RIGHT - 4):.1f}",
        "y": f"{y - 10:.1f}",
        "text-anchor": "end" if x + 10 > WIDTH - RIGHT - 120 else "start",
        "font-size": 11,
        "font-weight": 700,
        "fill": colour,
    }
    return [_el("circle", ring), _el("text", text, escape(note))]


def _line_parts(frame: _Frame, line: LineSeries, style: dict[str, str]) -> list[str]:
    """One series: the line through its points (when there are two or more), then each marker."""
    parts = []
    coords = [(frame.x_of(p.day), frame.y_of(p.value), p) for p in line.points]
    if len(coords) > 1:
        polyline = {
            "points": " ".join(f"{x:.1f},{y:.1f}" for x, y, _p in coords),
            "fill": "none",
            "stroke": style["colour"],
            "stroke-width": 2,
            "stroke-dasharray": style["dash"],
        }
        parts.append(_el("polyline", polyline))
    for x, y, point in coords:
        parts.append(_marker(style["shape"], x, y, style["colour"]))
        if point.note:
            parts.extend(_note_parts(x, y, point.note, style["colour"]))
    return parts


def _legend_parts(x: float, label: str, style: dict[str, str]) -> list[str]:
    y = HEIGHT - 14
    return [
        _marker(style["shape"], x + 6, y - 4, style["colour"]),
        _el("text", {"x": x + 16, "y": y, "font-size": 12, "fill": "#1d2530"}, escape(label)),
    ]


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
    """The SVG markup (escaped throughout; safe to mark safe).

    Drawn back to front: title and description, bands, axis, cut-off, dates, then each series with
    its legend entry.
    """
    frame = _Frame(y_min=y_min, y_max=y_max, days=sorted({p.day for s in series for p in s.points}))
    parts = [_el("title", {"id": f"{chart_id}-title"}, escape(title))]
    parts.append(_el("desc", {"id": f"{chart_id}-desc"}, escape(description)))
    for band in bands:
        parts.extend(_band_parts(frame, band))
    parts.extend(_axis_parts(frame))
    if cutoff is not None:
        parts.extend(_cutoff_parts(frame, cutoff, cutoff_label))
    parts.extend(_date_parts(frame))
    legend_x = LEFT
    for index, line in enumerate(series):
        style = SERIES_STYLES[index % len(SERIES_STYLES)]
        parts.extend(_line_parts(frame, line, style))
        parts.extend(_legend_parts(legend_x, line.label, style))
        legend_x += 24 + 8 * len(line.label)
    return _svg(chart_id, parts)


def _svg(chart_id: str, parts: list[str]) -> str:
    """The chart's outer element: labelled by its own title and description for screen readers."""
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
    return _svg(chart_id, parts)
