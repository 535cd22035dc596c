"""Assembles ``report.html``: one self-contained file (plotly.js inlined once, no external URL)."""

import colorsys
import html

import pandas as pd
import plotly.io as pio
from plotly.offline import get_plotlyjs

__all__ = ["arch_blocks", "esc", "figure_html", "op_colors", "op_legend", "render_page", "table_html"]

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1300px;
color:#222;padding:0 16px}
h1{font-size:1.6em;margin-bottom:0.2em} h2{margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#555} .note{background:#fff8e1;border-left:4px solid #f0b400;padding:6px 10px;margin:8px 0}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{border:1px solid #ddd;padding:3px 7px;text-align:right;vertical-align:middle}
th{background:#f3f3f3;position:sticky;top:0} td.l,th.l{text-align:left}
table.sortable th{cursor:pointer;user-select:none} table.sortable th:after{content:" \\2195";color:#aaa}
.arch{display:flex;gap:1px} .op{display:inline-block;width:11px;height:18px;border-radius:2px;flex:none}
.legend .op{margin-right:4px;vertical-align:middle}
.legend span.item{margin-right:14px;white-space:nowrap;font-size:13px}
.failed td{background:#fdecea} .scroll{max-height:560px;overflow:auto;display:inline-block;max-width:100%}
"""

# Click a header to sort by that column (numbers numerically, blanks last); click again to reverse.
_SORT_JS = """
document.querySelectorAll('table.sortable').forEach(function(t){
  t.querySelectorAll('th').forEach(function(th,i){
    th.addEventListener('click',function(){
      var body=t.tBodies[0], rows=Array.from(body.rows), asc=th.dataset.asc!=='1';
      t.querySelectorAll('th').forEach(function(h){h.dataset.asc='';});
      th.dataset.asc=asc?'1':'0';
      rows.sort(function(a,b){
        var x=a.cells[i].dataset.v!==undefined?a.cells[i].dataset.v:a.cells[i].textContent;
        var y=b.cells[i].dataset.v!==undefined?b.cells[i].dataset.v:b.cells[i].textContent;
        if(x===''&&y!=='')return 1; if(y===''&&x!=='')return -1;
        var nx=parseFloat(x), ny=parseFloat(y), r;
        r=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);
        return asc?r:-r;});
      rows.forEach(function(r){body.appendChild(r);});
    });
  });
});
"""


def op_colors(op_names) -> dict:
    """One distinct color per op name (sorted, evenly spaced hues); ``skip`` is light grey."""
    names = sorted({n for n in op_names if n})
    colored = [n for n in names if n != "skip"]
    colors = {}
    for i, name in enumerate(colored):
        r, g, b = colorsys.hls_to_rgb(i / max(len(colored), 1), 0.5, 0.65)
        colors[name] = f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"
    if "skip" in names:
        colors["skip"] = "#dddddd"
    return colors


def esc(value) -> str:
    return html.escape(str(value))


def _fmt(value, digits=4) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1e4:
        return f"{int(value):,}"  # counts (params, FLOPs) read better in full
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def arch_blocks(ops: str | None, colors: dict) -> str:
    """The architecture as a row of colored blocks, one per layer (hover shows layer and op)."""
    if not ops:
        return "<span class=meta>n/a</span>"
    cells = "".join(
        f'<span class=op style="background:{colors.get(op, "#000")}" title="layer {i}: {esc(op)}"></span>'
        for i, op in enumerate(ops.split())
    )
    return f"<div class=arch>{cells}</div>"


def op_legend(colors: dict) -> str:
    items = "".join(
        f'<span class=item><span class=op style="background:{c}"></span>{esc(n)}</span>' for n, c in colors.items()
    )
    return f"<div class=legend>{items}</div>"


def table_html(df: pd.DataFrame, columns: list, sortable=True, arch_col=None, colors=None, row_class=None) -> str:
    """A plain HTML table of ``columns`` (label, key); numbers right-aligned with a sort value."""

    def numeric(key):
        return key in df and pd.api.types.is_numeric_dtype(df[key]) and not pd.api.types.is_bool_dtype(df[key])

    head = "".join(f'<th class="{"" if numeric(key) else "l"}">{esc(label)}</th>' for label, key in columns)
    body = []
    for _, row in df.iterrows():
        cells = []
        for _, key in columns:
            value = row.get(key)
            if key == arch_col:
                cells.append(f"<td class=l data-v='{esc(value or '')}'>{arch_blocks(value, colors)}</td>")
            elif isinstance(value, (int, float)) and not isinstance(value, bool) and not pd.isna(value):
                cells.append(f"<td data-v='{value!r}'>{esc(_fmt(value))}</td>")
            else:
                cells.append(f"<td class=l>{esc(_fmt(value))}</td>")
        cls = f" class={row_class}" if row_class else ""
        body.append(f"<tr{cls}>{''.join(cells)}</tr>")
    cls = "sortable" if sortable else ""
    table = f"<table class='{cls}'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    return f"<div class=scroll>{table}</div>"


def figure_html(fig, missing_text: str) -> str:
    if fig is None:
        return f"<p class=note>{esc(missing_text)}</p>"
    return pio.to_html(fig, include_plotlyjs=False, full_html=False, config={"displaylogo": False})


def render_page(title: str, sections: list) -> str:
    """``sections``: list of (heading or None, inner HTML). Returns the whole page."""
    parts = []
    for heading, inner in sections:
        if heading:
            parts.append(f"<h2>{esc(heading)}</h2>")
        parts.append(inner)
    return (
        f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{esc(title)}</title>"
        f'<style>{_STYLE}</style><script type="text/javascript">{get_plotlyjs()}</script></head>'
        f"<body><h1>{esc(title)}</h1>{''.join(parts)}<script>{_SORT_JS}</script></body></html>"
    )
