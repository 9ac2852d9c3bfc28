"""Small server-rendered SVG charts. Every chart is shown with a data table beside it.

Presentation attributes only (no style attributes), so the Content-Security-Policy's
style-src 'self' is kept.
"""

from __future__ import annotations

from markupsafe import Markup, escape


def bar_chart(*, title: str, labels: list[str], values: list[int], maximum: int, chart_id: str,
              value_label: str = "") -> Markup:
    """A horizontal bar chart: one bar per label, scaled to `maximum`."""
    bar_height, gap, label_width, chart_width = 18, 8, 220, 360
    height = len(labels) * (bar_height + gap) + 30
    maximum = max(maximum, 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="{chart_id}-title" '
        f'viewBox="0 0 {label_width + chart_width + 60} {height}" width="100%" class="convene-chart">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
    ]
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 20 + index * (bar_height + gap)
        width = round(chart_width * value / maximum)
        short = label if len(label) <= 34 else label[:33] + "…"
        parts.append(f'<text x="{label_width - 8}" y="{y + 13}" text-anchor="end" font-size="12" '
                     f'fill="#212b32">{escape(short)}</text>')
        parts.append(f'<rect x="{label_width}" y="{y}" width="{width}" height="{bar_height}" fill="#005eb8"/>')
        parts.append(f'<text x="{label_width + width + 6}" y="{y + 13}" font-size="12" fill="#212b32">'
                     f'{value}{escape(value_label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
