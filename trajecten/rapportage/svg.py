"""Charts as inline SVG, drawn on the server: no JavaScript, no external files, they render offline.
Each chart has a <title> and an aria-label, and the same numbers are always also in a table."""

from __future__ import annotations

from html import escape

from markupsafe import Markup


def staafdiagram(reeks: list[tuple[str, float]], *, titel: str, kleur: str = "#1f5f8b", hoogte: int = 140,
                 breedte_staaf: int = 34) -> Markup:
    """Vertical bars with their value above and the label below."""
    n = max(len(reeks), 1)
    top = max([v for _, v in reeks] + [1])
    w = n * (breedte_staaf + 8) + 8
    h = hoogte + 36
    parts = [f'<svg class="grafiek" role="img" aria-label="{escape(titel)}" viewBox="0 0 {w} {h}" '
             f'width="{w}" height="{h}" xmlns="http://www.w3.org/2000/svg"><title>{escape(titel)}</title>',
             f'<line x1="4" y1="{hoogte + 14}" x2="{w - 4}" y2="{hoogte + 14}" stroke="#888" stroke-width="1"/>']
    for i, (label, v) in enumerate(reeks):
        bh = 0 if not v else max(1, round(hoogte * v / top))
        x = 8 + i * (breedte_staaf + 8)
        y = hoogte + 14 - bh
        parts.append(f'<rect x="{x}" y="{y}" width="{breedte_staaf}" height="{bh}" fill="{kleur}">'
                     f'<title>{escape(str(label))}: {_getal(v)}</title></rect>')
        parts.append(f'<text x="{x + breedte_staaf / 2}" y="{y - 3}" font-size="11" text-anchor="middle">{_getal(v)}</text>')
        parts.append(f'<text x="{x + breedte_staaf / 2}" y="{hoogte + 28}" font-size="11" text-anchor="middle">'
                     f'{escape(str(label))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def voortgang(waarde: float, maximum: float, *, titel: str, doel: float | None = None, eenheid: str = "",
              breedte: int = 360) -> Markup:
    """One horizontal bar: ``waarde`` of ``maximum`` (e.g. started this year against the yearly target),
    with a marker at ``doel`` when given."""
    maximum = maximum or 1
    h = 34
    vol = min(1.0, (waarde or 0) / maximum)
    bw = round((breedte - 8) * vol)
    kleur = "#2e7d32" if (doel is None and vol >= 1) or (doel is not None and waarde >= doel) else "#1f5f8b"
    tekst = f"{_getal(waarde)}{eenheid} van {_getal(maximum)}{eenheid}" if doel is None else \
        f"{_getal(waarde)}{eenheid} (doel {_getal(doel)}{eenheid})"
    parts = [f'<svg class="grafiek" role="img" aria-label="{escape(titel)}: {escape(tekst)}" '
             f'viewBox="0 0 {breedte} {h}" width="{breedte}" height="{h}" xmlns="http://www.w3.org/2000/svg">'
             f'<title>{escape(titel)}: {escape(tekst)}</title>',
             f'<rect x="4" y="4" width="{breedte - 8}" height="18" fill="#e8ecef" stroke="#888"/>',
             f'<rect x="4" y="4" width="{bw}" height="18" fill="{kleur}"/>']
    if doel is not None:
        dx = 4 + round((breedte - 8) * min(1.0, doel / maximum))
        parts.append(f'<line x1="{dx}" y1="1" x2="{dx}" y2="25" stroke="#b00020" stroke-width="2"/>')
    parts.append(f'<text x="8" y="33" font-size="11">{escape(tekst)}</text></svg>')
    return Markup("".join(parts))


def _getal(v) -> str:
    if isinstance(v, float) and not v.is_integer():
        return f"{v:.1f}".replace(".", ",")
    return str(int(v)) if isinstance(v, float) else str(v)
