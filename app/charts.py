"""Small server-rendered SVG charts. Every chart is shown with a data table beside it.

Presentation attributes only (no style attributes), so the Content-Security-Policy's
style-src 'self' is kept.
"""

from __future__ import annotations

from markupsafe import Markup, escape

LABEL_CHARACTERS = 34


def short_labels(labels: list[str]) -> list[str]:
    """Labels that fit beside a bar and still tell every bar apart: a long label keeps its start and its
    end (where "day 1" and "day 2" differ); if two still read the same, they are numbered."""
    def shorten(label: str) -> str:
        if len(label) <= LABEL_CHARACTERS:
            return label
        head = (LABEL_CHARACTERS - 1) // 2
        return label[:head].rstrip() + "…" + label[-(LABEL_CHARACTERS - 1 - head):].lstrip()

    shortened = [shorten(label) for label in labels]
    if len(set(shortened)) < len(shortened):
        shortened = [shorten(f"{n}. {label}") for n, label in enumerate(labels, start=1)]
    return shortened


def bar_chart(*, title: str, labels: list[str], values: list[int | None], maximum: int, chart_id: str,
              value_label: str = "", missing: str = "no answers") -> Markup:
    """A horizontal bar chart: one bar per label, scaled to `maximum`. A value of None draws no bar
    and says `missing` instead, so nothing reads as zero that is not."""
    bar_height, gap, label_width, chart_width = 18, 8, 220, 360
    height = len(labels) * (bar_height + gap) + 30
    maximum = max(maximum, 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="{chart_id}-title" '
        f'viewBox="0 0 {label_width + chart_width + 60} {height}" width="100%" class="convene-chart">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
    ]
    for index, (label, value) in enumerate(zip(short_labels(labels), values, strict=True)):
        y = 20 + index * (bar_height + gap)
        parts.append(f'<text x="{label_width - 8}" y="{y + 13}" text-anchor="end" font-size="12" '
                     f'fill="#212b32">{escape(label)}</text>')
        if value is None:
            parts.append(f'<text x="{label_width + 6}" y="{y + 13}" font-size="12" fill="#4c6272">'
                         f'{escape(missing)}</text>')
            continue
        width = round(chart_width * value / maximum)
        parts.append(f'<rect x="{label_width}" y="{y}" width="{width}" height="{bar_height}" fill="#005eb8"/>')
        parts.append(f'<text x="{label_width + width + 6}" y="{y + 13}" font-size="12" fill="#212b32">'
                     f'{value}{escape(value_label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
