"""Server-rendered SVG trend charts: one small chart per lab analyte.

Plain SVG text (no script, no external resource), so the strict Content-Security-Policy
holds and the chart prints. The reference range is a shaded band; points outside it are
marked. Values are escaped; coordinates are numbers we compute.
"""

from __future__ import annotations

from html import escape

from fellesjournal.web.i18n import format_date, format_number

WIDTH, HEIGHT, PAD = 240, 70, 6
#: The most recent values a chart's text alternative names.
LABEL_VALUES = 12


def series_label(name: str, unit: str, points: list[tuple[str, float]]) -> str:
    """The chart's text alternative: the analyte and its latest values with their dates
    (``Hemoglobin g/dL: 02.01.2025 13,1; 03.03.2025 12,8``), what the picture shows."""
    shown = points[-LABEL_VALUES:]
    values = "; ".join(f"{format_date(t)} {format_number(v)}" for t, v in shown)
    more = "…; " if len(points) > len(shown) else ""
    return f"{name} {unit}".strip() + f": {more}{values}"


def trend_svg(
    points: list[tuple[str, float]], low: float | None, high: float | None, label: str
) -> str:
    """An SVG chart of ``points`` (time, value), oldest first, ``label`` for screen readers."""
    values = [v for _, v in points]
    lo = min([*values, *(x for x in (low,) if x is not None)])
    hi = max([*values, *(x for x in (high,) if x is not None)])
    if hi == lo:
        hi, lo = hi + 1, lo - 1
    span = hi - lo

    def y(value: float) -> float:
        return round(HEIGHT - PAD - (value - lo) / span * (HEIGHT - 2 * PAD), 1)

    def x(i: int) -> float:
        if len(points) == 1:
            return WIDTH / 2
        return round(PAD + i * (WIDTH - 2 * PAD) / (len(points) - 1), 1)

    parts = [
        f'<svg class="trend" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>'
    ]
    if low is not None or high is not None:
        top = y(high if high is not None else hi)
        bottom = y(low if low is not None else lo)
        height = round(bottom - top, 1)
        parts.append(f'<rect class="range" x="0" y="{top}" width="{WIDTH}" height="{height}"/>')
    line = " ".join(f"{x(i)},{y(v)}" for i, v in enumerate(values))
    parts.append(f'<polyline class="line" points="{line}"/>')
    for i, v in enumerate(values):
        outside = (low is not None and v < low) or (high is not None and v > high)
        cls = "point out" if outside else "point"
        parts.append(f'<circle class="{cls}" cx="{x(i)}" cy="{y(v)}" r="2.5"/>')
    parts.append("</svg>")
    return "".join(parts)
