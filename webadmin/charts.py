"""Bar charts drawn on the server as inline SVG, from plain (label, value) lists.

No script and no inline style (the console's CSP allows neither): the shapes carry classes
that static/style.css colours. Each chart is an ``<svg role="img">`` named by its
``<title>`` and ``<desc>`` (aria-labelledby), followed by the same numbers as a table in a
``<details>``, the text alternative screen readers and copy-paste get. The viewBox is about
as wide as a phone's content column, so the SVG scales with the page (width 100%) and its
text stays legible at 375 px. Every label goes through markupsafe's escaping.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from markupsafe import Markup

Format = Callable[[int], str]
WIDTH = 320  # viewBox units; style.css caps the drawn width so text is not oversized
FONT = 11  # viewBox units; style.css sets the same size for .chart text
CHAR = 0.6 * FONT  # a generous average glyph width, to keep labels apart
ROW = 30  # one horizontal bar: its label line, then the bar
NAME_CHARS = 34  # longer names are cut with an ellipsis (the table has them whole)


def _count(n: int) -> str:
    return f"{n:,}"


def columns(
    chart_id: str,
    title: str,
    summary: str,
    points: Sequence[tuple[str, int | None]],
    headers: tuple[str, str],
    empty: str,
    fmt: Format = _count,
) -> Markup:
    """Vertical bars in order (a time series). A value of None is a period nobody counted:
    drawn as a pale full-height band and "not counted" in the table. ``empty`` is shown
    instead of a chart when no value is above zero."""
    if not any(v for _, v in points):
        return _empty(empty)
    ticks = _ticks(max(v or 0 for _, v in points))
    left, right, top, bottom = 6 + len(fmt(ticks[-1])) * CHAR, WIDTH - 4, 8.0, 150.0
    slot = (right - left) / len(points)
    scale = (bottom - top) / ticks[-1]
    parts = []
    for tick in ticks:
        y = bottom - tick * scale
        parts.append(
            Markup('<line class="grid" x1="{}" y1="{}" x2="{}" y2="{}"/>').format(
                _n(left), _n(y), _n(right), _n(y)
            )
        )
        parts.append(_text(left - 4, y + FONT * 0.35, fmt(tick), "end"))
    parts.extend(_uncounted(points, left, slot, top, bottom))
    step = _label_step(points, slot)
    for i, (label, value) in enumerate(points):
        x = left + i * slot
        if value is not None:
            w = slot * 0.72
            h = value * scale
            tip = f"{label}: {fmt(value)}"
            parts.append(_rect("bar", x + (slot - w) / 2, bottom - h, w, h, tip))
        if (len(points) - 1 - i) % step == 0:
            parts.append(_axis_label(x + slot / 2, bottom + FONT + 4, label))
    return _figure(chart_id, title, summary, bottom + FONT + 8, parts, points, headers, fmt)


def rows(
    chart_id: str,
    title: str,
    summary: str,
    points: Sequence[tuple[str, int]],
    headers: tuple[str, str],
    empty: str,
    fmt: Format = _count,
    muted_last: bool = False,
) -> Markup:
    """Horizontal bars, one per row: the name and value on a line, the bar below it (so
    long names keep the full width). ``muted_last`` greys the last bar (a "the rest")."""
    peak = max((v for _, v in points), default=0)
    if peak <= 0:
        return _empty(empty)
    parts = []
    for i, (label, value) in enumerate(points):
        y = i * ROW
        muted = muted_last and i == len(points) - 1
        parts.append(_text(0, y + FONT, _cut(label), "start", "name"))
        parts.append(_text(WIDTH, y + FONT, fmt(value), "end", "value"))
        parts.append(_rect("track", 0, y + FONT + 5, WIDTH, 9, None))
        w = max(value / peak * WIDTH, 1.0 if value else 0.0)
        kind = "bar rest" if muted else "bar"
        parts.append(_rect(kind, 0, y + FONT + 5, w, 9, f"{label}: {fmt(value)}"))
    return _figure(chart_id, title, summary, len(points) * ROW, parts, points, headers, fmt)


def _figure(
    chart_id: str,
    title: str,
    summary: str,
    height: float,
    parts: list[Markup],
    points: Sequence[tuple[str, int | None]],
    headers: tuple[str, str],
    fmt: Format,
) -> Markup:
    svg = Markup(
        '<svg class="chart-svg" viewBox="0 0 {w} {h}" width="100%" role="img" '
        'aria-labelledby="{id}-title {id}-desc" focusable="false">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{summary}</desc>'
        "{body}</svg>"
    ).format(
        w=WIDTH,
        h=_n(height),
        id=chart_id,
        title=title,
        summary=summary,
        body=Markup("").join(parts),
    )
    return Markup('<figure class="chart" id="{}">{}{}</figure>').format(
        chart_id, svg, _table(title, points, headers, fmt)
    )


def _table(
    title: str,
    points: Sequence[tuple[str, int | None]],
    headers: tuple[str, str],
    fmt: Format,
) -> Markup:
    body = Markup("").join(
        Markup('<tr><th scope="row">{}</th><td class="num">{}</td></tr>').format(
            label, "not counted" if value is None else fmt(value)
        )
        for label, value in points
    )
    return Markup(
        '<details class="chart-data"><summary>The numbers</summary><table>'
        '<caption>{}</caption><thead><tr><th scope="col">{}</th>'
        '<th scope="col" class="num">{}</th></tr></thead><tbody>{}</tbody></table></details>'
    ).format(title, headers[0], headers[1], body)


def _empty(message: str) -> Markup:
    return Markup('<p class="chart-empty">{}</p>').format(message)


def _rect(kind: str, x: float, y: float, w: float, h: float, tip: str | None) -> Markup:
    tag = Markup('<rect class="{}" x="{}" y="{}" width="{}" height="{}"').format(
        kind, _n(x), _n(y), _n(w), _n(h)
    )
    if tip is None:
        return tag + Markup("/>")
    return tag + Markup("><title>{}</title></rect>").format(tip)


def _text(x: float, y: float, text: str, anchor: str, kind: str = "tick") -> Markup:
    return Markup('<text class="{}" x="{}" y="{}" text-anchor="{}">{}</text>').format(
        kind, _n(x), _n(y), anchor, text
    )


def _uncounted(
    points: Sequence[tuple[str, int | None]], left: float, slot: float, top: float, bottom: float
) -> list[Markup]:
    """One pale band over each run of uncounted periods (one shape: no seams between
    neighbours), saying so inside when it is wide enough."""
    parts = []
    i = 0
    while i < len(points):
        if points[i][1] is not None:
            i += 1
            continue
        end = i
        while end + 1 < len(points) and points[end + 1][1] is None:
            end += 1
        x, w = left + i * slot, (end - i + 1) * slot
        tip = f"{points[i][0]} to {points[end][0]}: not counted"
        parts.append(_rect("unknown", x, top, w, bottom - top, tip))
        if w > len("not counted") * CHAR + 4:
            parts.append(_text(x + w / 2, (top + bottom) / 2, "not counted", "middle"))
        i = end + 1
    return parts


def _axis_label(center: float, y: float, label: str) -> Markup:
    """A label under its bar, kept inside the viewBox at either end."""
    half = len(label) * CHAR / 2
    if center + half > WIDTH:
        return _text(WIDTH, y, label, "end")
    if center - half < 0:
        return _text(0, y, label, "start")
    return _text(center, y, label, "middle")


def _label_step(points: Sequence[tuple[str, int | None]], slot: float) -> int:
    """Label every step-th bar (counting back from the newest) so labels never touch."""
    widest = max(len(label) for label, _ in points) * CHAR + FONT
    return max(1, math.ceil(widest / slot))


def _ticks(peak: int) -> list[int]:
    """0 up to a round number at or above peak, in at most four round steps."""
    step = 1
    for magnitude in (10**k for k in range(19)):
        step = next((m * magnitude for m in (1, 2, 5) if peak <= 4 * m * magnitude), 0)
        if step:
            break
    return list(range(0, math.ceil(peak / step) * step + 1, step))


def _cut(name: str) -> str:
    return name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1] + "…"


def _n(x: float) -> str:
    """A coordinate with at most two decimals: exact enough, and short markup."""
    return f"{x:.2f}".rstrip("0").rstrip(".")
