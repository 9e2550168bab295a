"""Server-rendered SVG trend charts: one small chart per lab analyte.

Plain SVG text (no script, no external resource), so the strict Content-Security-Policy
holds and the chart prints. The reference range is a shaded band; points outside it are
marked. Values are escaped; coordinates are numbers we compute.
"""

from __future__ import annotations

from html import escape

WIDTH, HEIGHT, PAD = 240, 70, 6


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
        f'role="img" aria-label="{escape(label)}">'
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
