"""The report's HTML: the page around the sections, its inline CSS and plotly.js, and the small pieces the
sections are written in (escaped text, tables, figures, fact tiles).

Everything here writes text that came from data through `esc` (html.escape), and the Markdown sentences the
dashboard's helpers write (insight.formatting.markdown_text escapes, `**bold**`) through `markdown_html`, so a
category or segment name such as `<script>` shows as text. Figures are plotly's own `to_html` divs, whose JSON
plotly writes with `<`, `>` and `/` as unicode escapes. Nothing is fetched when the file opens: plotly.js, the
CSS and the logo (a data: URI) are all inside the file.
"""

from __future__ import annotations

import base64
import functools
import html
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from insight.formatting import DASH

log = logging.getLogger(__name__)

GENERATOR = "insight report"
"""The content of the report's `<meta name="generator">`: what marks a file as a report `insight report` may
replace (insight.commands.report)."""
FIGURES_META = "insight-figures"
"""`<meta name="insight-figures" content="N">`: how many plotly figures the report holds."""
FIGURE_CONFIG = {"displaylogo": False, "responsive": True,
                 "modeBarButtonsToRemove": ["sendDataToCloud", "select2d", "lasso2d"]}

CSS = """
:root { --ink: #1F2D3D; --muted: #5D6D7E; --line: #DDE3EA; --panel: #F3F6FA; --accent: #3366CC; }
* { box-sizing: border-box; }
body { margin: 0; font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--ink);
       background: #fff; line-height: 1.45; font-size: 15px; }
header { display: flex; align-items: center; gap: 24px; padding: 18px 32px;
         border-bottom: 1px solid var(--line); background: var(--panel); }
header img { height: 40px; }
header .title { font-size: 22px; font-weight: 700; }
header .sub { color: var(--muted); font-size: 13px; }
nav { padding: 8px 32px; border-bottom: 1px solid var(--line); font-size: 14px; }
nav a { color: var(--accent); text-decoration: none; margin-right: 18px; }
main { max-width: 1280px; margin: 0 auto; padding: 8px 32px 48px; }
section { margin-top: 28px; }
h2 { font-size: 21px; border-bottom: 2px solid var(--accent); padding-bottom: 4px; }
h3 { font-size: 16px; margin: 18px 0 6px; }
p.note, .note { color: var(--muted); font-size: 13px; }
.tiles { display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0; }
.tile { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; min-width: 170px; flex: 1; }
.tile .label { color: var(--muted); font-size: 13px; }
.tile .value { font-size: 24px; font-weight: 600; }
.tile .help { color: var(--muted); font-size: 12px; margin-top: 4px; }
table { border-collapse: collapse; margin: 8px 0 12px; font-size: 14px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 10px; text-align: left; vertical-align: top; }
th { background: var(--panel); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 12px; }
.card { border: 1px solid var(--line); border-left: 6px solid var(--accent); border-radius: 8px;
        padding: 10px 14px; }
.card .name { font-weight: 700; }
.card ul { margin: 6px 0; padding-left: 20px; }
.figure { margin: 10px 0 4px; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 18px; }
footer { color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); padding: 12px 32px; }
@media print { nav { display: none; } section { break-inside: avoid-page; } }
"""


@dataclass(frozen=True)
class Section:
    """One part of the report: its anchor, heading, HTML body and how many figures the body holds."""

    anchor: str
    title: str
    body: str
    figures: int = 0


def esc(value: Any) -> str:
    """Data-derived text for HTML: shown literally (html.escape, quotes included)."""
    return html.escape(str(value), quote=True)


def markdown_html(markdown: str) -> str:
    """A sentence the dashboard's helpers write for Streamlit's Markdown (data escaped by
    insight.formatting.markdown_text, `**` for bold) as HTML: each backslash escape becomes its character,
    escaped for HTML, and `**` pairs become <strong>. Nothing else in it is read as markup."""
    out: list[str] = []
    bold = False
    i = 0
    while i < len(markdown):
        char = markdown[i]
        if char == "\\" and i + 1 < len(markdown):
            out.append(esc(markdown[i + 1]))
            i += 2
        elif markdown.startswith("**", i):
            out.append("</strong>" if bold else "<strong>")
            bold = not bold
            i += 2
        else:
            out.append(esc(char))
            i += 1
    if bold:
        out.append("</strong>")
    return "".join(out)


def paragraph(text: str, *, note: bool = False) -> str:
    return f'<p class="note">{esc(text)}</p>' if note else f"<p>{esc(text)}</p>"


def bullets(items: Iterable[str]) -> str:
    """A list of already-escaped HTML items."""
    shown = list(items)
    return "<ul>" + "".join(f"<li>{item}</li>" for item in shown) + "</ul>" if shown else ""


def tiles(facts: Sequence[tuple[str, str, str | None]]) -> str:
    """Key figures side by side: (label, value, help) each, plain text."""
    cells = []
    for name, value, help_text in facts:
        extra = f'<div class="help">{esc(help_text)}</div>' if help_text else ""
        cells.append(f'<div class="tile"><div class="label">{esc(name)}</div>'
                     f'<div class="value">{esc(value)}</div>{extra}</div>')
    return '<div class="tiles">' + "".join(cells) + "</div>"


def table(frame: pd.DataFrame, *, numbers: Sequence[str] = (), digits: int = 3) -> str:
    """A frame as an HTML table, every header and cell escaped; `numbers` columns right-aligned (floats with
    `digits` decimals)."""
    head = "".join(f"<th>{esc(c)}</th>" for c in frame.columns)
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, record, strict=True):
            if isinstance(value, float):
                value = DASH if value != value else f"{value:.{digits}f}"
            css = ' class="num"' if column in numbers else ""
            cells.append(f"<td{css}>{esc(value)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def figure(fig: Any, div_id: str, caption: str | None = None) -> str:
    """A plotly figure as a div drawn by the report's inline plotly.js (never a CDN), with a caption. Axes make
    room for their tick labels (automargin): the page is wider than the dashboard's columns, and a cut label
    cannot be hovered in a printed report."""
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    body = fig.to_html(full_html=False, include_plotlyjs=False, include_mathjax=False, div_id=div_id,
                       config=FIGURE_CONFIG, default_width="100%")
    note = f'<p class="note">{esc(caption)}</p>' if caption else ""
    return f'<div class="figure">{body}{note}</div>'


@functools.lru_cache(maxsize=1)
def plotly_js() -> str:
    """The installed plotly package's plotly.js bundle (about 4.8 MB for plotly 7.1), read once."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


@functools.lru_cache(maxsize=1)
def logo_uri() -> str | None:
    """The dashboard's logo (assets/logo.svg) as a data: URI, or None when the assets are not installed."""
    try:
        from insight.appfiles import app_folder

        data = (app_folder() / "assets" / "logo.svg").read_bytes()
    except (FileNotFoundError, OSError) as e:
        log.debug("no logo for the report: %s", e)
        return None
    return "data:image/svg+xml;base64," + base64.b64encode(data).decode("ascii")


def document(title: str, subtitle: str, sections: Sequence[Section], *, footer: str) -> str:
    """The whole report: head (CSS, plotly.js), header with the logo, a table of contents, the sections."""
    figures = sum(s.figures for s in sections)
    logo = logo_uri()
    logo_html = f'<img src="{logo}" alt="Customer Insight">' if logo else ""
    contents = "".join(f'<a href="#{esc(s.anchor)}">{esc(s.title)}</a>' for s in sections)
    body = "".join(f'<section id="{esc(s.anchor)}"><h2>{esc(s.title)}</h2>{s.body}</section>'
                   for s in sections)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f'<meta name="generator" content="{GENERATOR}">\n'
        f'<meta name="{FIGURES_META}" content="{figures}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n"
        f'<script type="text/javascript">{plotly_js()}</script>\n</head>\n<body>\n'
        f'<header>{logo_html}<div><div class="title">{esc(title)}</div><div class="sub">{esc(subtitle)}</div>'
        f"</div></header>\n<nav>{contents}</nav>\n<main>{body}</main>\n"
        f'<footer>{esc(footer)} This report holds {figures} figures and needs no network to open.</footer>\n'
        "</body>\n</html>\n")
