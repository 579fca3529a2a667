"""The rosette as inline SVG: six petals, one per layer, coloured by rating.

L2BEAT draws its risk rosette as a ring of petals that turn red, amber or
green; a reader sees the weak layer before reading a word. We draw six wedges
around a disc holding the stage, each labelled and carrying its reason as a
``<title>`` tooltip. Geometry is fixed (see :data:`CENTER`, :data:`PETAL_POINT`)
so tests can find each petal in a screenshot.
"""

from __future__ import annotations

import math
from html import escape

from cairn.audit.manifest import LAYERS
from cairn.audit.report import Report

__all__ = ["CENTER", "COLORS", "HEIGHT", "WIDTH", "petal_point", "rosette_svg"]

WIDTH, HEIGHT = 480, 440
CENTER = (240.0, 220.0)
_OUTER, _INNER, _LABEL, _GAP_DEG = 140.0, 46.0, 158.0, 3.0
COLORS = {"good": "#16a34a", "warning": "#f59e0b", "bad": "#dc2626"}
LABELS = {
    "storage": "storage",
    "inference": "inference",
    "training": "training",
    "identity_payments": "identity & payments",
    "governance": "governance",
    "verification": "verification",
}


def _angle(index: int) -> float:
    """Petal ``index`` points this many degrees from the x axis (storage at the top)."""
    return -90.0 + index * 360.0 / len(LAYERS)


def _at(angle_deg: float, radius: float) -> tuple[float, float]:
    rad = math.radians(angle_deg)
    return CENTER[0] + radius * math.cos(rad), CENTER[1] + radius * math.sin(rad)


def petal_point(layer: str) -> tuple[int, int]:
    """A pixel well inside ``layer``'s petal (for screenshot tests)."""
    x, y = _at(_angle(LAYERS.index(layer)), (_OUTER + _INNER) / 2)
    return round(x), round(y)


def _wedge(index: int) -> str:
    half = 180.0 / len(LAYERS) - _GAP_DEG
    a, b = _angle(index) - half, _angle(index) + half
    p1, p2, p3, p4 = _at(a, _INNER), _at(a, _OUTER), _at(b, _OUTER), _at(b, _INNER)
    return (
        f"M{p1[0]:.1f},{p1[1]:.1f} L{p2[0]:.1f},{p2[1]:.1f} "
        f"A{_OUTER:.0f},{_OUTER:.0f} 0 0 1 {p3[0]:.1f},{p3[1]:.1f} "
        f"L{p4[0]:.1f},{p4[1]:.1f} A{_INNER:.0f},{_INNER:.0f} 0 0 0 {p1[0]:.1f},{p1[1]:.1f} Z"
    )


def _label(index: int, layer: str) -> str:
    angle = _angle(index)
    x, y = _at(angle, _LABEL)
    cos = math.cos(math.radians(angle))
    anchor = "middle" if abs(cos) < 0.1 else ("start" if cos > 0 else "end")
    dy = -4 if angle < -60 else (14 if 60 < angle < 120 else 5)
    return (
        f'<text x="{x:.1f}" y="{y + dy:.1f}" text-anchor="{anchor}" '
        f'class="label">{escape(LABELS[layer])}</text>'
    )


def rosette_svg(report: Report) -> str:
    """An ``<svg>`` element drawing ``report``'s rosette."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="rosette" width="{WIDTH}" '
        f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="risk rosette of {escape(report.name)}">'
    ]
    for index, layer in enumerate(LAYERS):
        petal = report.rosette[layer]
        parts.append(
            f'<path class="petal {petal.rating}" data-layer="{layer}" '
            f'fill="{COLORS[petal.rating]}" d="{_wedge(index)}">'
            f"<title>{escape(LABELS[layer])}: {petal.rating}: {escape(petal.reason)}</title></path>"
        )
        parts.append(_label(index, layer))
    cx, cy = CENTER
    parts.append(f'<circle cx="{cx:.0f}" cy="{cy:.0f}" r="{_INNER - 6:.0f}" fill="#1f2937"/>')
    parts.append(
        f'<text x="{cx:.0f}" y="{cy + 7:.0f}" text-anchor="middle" class="stage">'
        f"Stage {report.stage.stage}</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts)
