"""Building blocks of autopipe's HTML reports: one self-contained file, no script, no network.

Charts arrive as inline SVG (flows/core/reports/charts.py) and the style sheet is inline, so
a report opens the same offline, attached to an e-mail or years later. Every value is escaped here.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

STYLE = """
:root { --ink:#1f2933; --muted:#616e7c; --line:#e4e7eb; --bg:#f5f7fa; --accent:#2f6fbd;
        --critical:#c62828; --warning:#e08a00; --info:#2f6fbd; --good:#2e7d32; }
* { box-sizing:border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif; color:var(--ink);
       background:var(--bg); }
header { background:#102a43; color:#fff; padding:18px 28px; }
header h1 { margin:0; font-size:22px; } header p { margin:4px 0 0; color:#bcccdc; }
nav { position:sticky; top:0; background:#fff; border-bottom:1px solid var(--line);
      padding:6px 28px; z-index:2; font-size:13px; }
nav a { margin-right:14px; color:var(--accent); text-decoration:none; }
main { padding:12px 28px 40px; max-width:1280px; }
section { background:#fff; border:1px solid var(--line); border-radius:8px; margin:16px 0;
          padding:14px 18px; }
h2 { margin:0 0 10px; font-size:17px; } h3 { margin:14px 0 6px; font-size:14px; }
.cards { display:flex; flex-wrap:wrap; gap:10px; }
.card { border:1px solid var(--line); border-radius:6px; padding:8px 12px; min-width:130px; }
.card b { display:block; font-size:18px; } .card span { color:var(--muted); font-size:12px; }
table { border-collapse:collapse; font-size:13px; margin:6px 0; }
th, td { border-bottom:1px solid var(--line); padding:4px 10px; text-align:left; }
th { color:var(--muted); font-weight:600; } td.num { text-align:right;
     font-variant-numeric:tabular-nums; }
.grid { display:grid; grid-template-columns:repeat(auto-fill,minmax(420px,1fr)); gap:14px; }
figure { margin:0; } figure svg { max-width:100%; height:auto; }
figcaption { color:var(--muted); font-size:12px; }
.badge { display:inline-block; border-radius:10px; padding:0 8px; font-size:12px;
         color:#fff; } .critical { background:var(--critical); }
.warning { background:var(--warning); } .info { background:var(--info); }
.good { color:var(--good); } .bad { color:var(--critical); } .muted { color:var(--muted); }
.column { border-top:1px solid var(--line); padding-top:10px; margin-top:10px; }
ul.notes { color:var(--muted); font-size:12px; margin:6px 0; }
"""


def page(title: str, subtitle: str, sections: Sequence[tuple[str, str, str]]) -> str:
    """A whole document; ``sections`` are (anchor, heading, body HTML)."""
    links = "".join(f'<a href="#{anchor}">{escape(heading)}</a>'
                    for anchor, heading, _ in sections)
    body = "".join(f'<section id="{anchor}"><h2>{escape(heading)}</h2>{content}</section>'
                   for anchor, heading, content in sections)
    generated = datetime.now().strftime("%Y-%m-%d %H:%M")
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
            f"<header><h1>{escape(title)}</h1><p>{escape(subtitle)} · generated "
            f"{generated} by autopipe</p></header><nav>{links}</nav><main>{body}</main>"
            f"</body></html>")


def escape(value: Any) -> str:
    return html.escape(str(value), quote=True)


def cards(items: Iterable[tuple[str, Any]]) -> str:
    """Key numbers as a row of cards: (label, value)."""
    return '<div class="cards">' + "".join(
        f'<div class="card"><b>{escape(value)}</b><span>{escape(label)}</span></div>'
        for label, value in items) + "</div>"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]],
          numeric: Sequence[bool] | None = None) -> str:
    """A table; cells are escaped unless they are ``Markup``."""
    aligned = list(numeric) if numeric is not None else [False] * len(headers)
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(
            f'<td{" class=num" if aligned[i] else ""}>{cell_html(cell)}</td>'
            for i, cell in enumerate(row)) + "</tr>"
        for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class Markup(str):
    """HTML that is already safe (made by these helpers): not escaped again."""


def cell_html(value: Any) -> str:
    if isinstance(value, Markup):
        return str(value)
    if value is None:
        return "-"
    return escape(number(value) if isinstance(value, float) else value)


def number(value: float | None, digits: int = 4) -> str:
    """A float for people: few significant digits, thousands separated, '-' when absent."""
    if value is None or value != value:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def size(count: float) -> str:
    """Bytes as KB, MB, GB."""
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GB"


def badge(severity: str) -> Markup:
    return Markup(f'<span class="badge {escape(severity)}">{escape(severity)}</span>')


def figure(svg: str, caption: str = "") -> str:
    """An inline chart (trusted SVG from flows/core/reports/charts.py) with an optional caption."""
    note = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return f"<figure>{svg}{note}</figure>"


def grid(items: Iterable[str]) -> str:
    return '<div class="grid">' + "".join(items) + "</div>"


def notes(lines: Iterable[str]) -> str:
    items = "".join(f"<li>{escape(line)}</li>" for line in lines)
    return f'<ul class="notes">{items}</ul>' if items else ""


def alerts_table(alerts: Sequence[dict[str, Any]]) -> str:
    """Alerts, most severe first, with their statistic and threshold."""
    if not alerts:
        return '<p class="good">No alerts.</p>'
    return table(["severity", "kind", "column", "value", "threshold", "what it means"],
                 [(badge(a["severity"]), a["kind"], a.get("column") or "-",
                   a.get("value"), a.get("threshold"), a["message"]) for a in alerts],
                 [False, False, False, True, True, False])
