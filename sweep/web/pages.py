"""The pages: plain HTML strings rendered on the server, one small script
(``static/app.js``) that fills them by polling the JSON API, and plotly.js from the
plotly package (served here, as the report inlines it: no CDN, no Node)."""

from __future__ import annotations

import functools
import json
from html import escape
from pathlib import Path

from plotly.offline import get_plotlyjs

from hwnas.config import load_config
from hwnas.data import DATASETS
from hwnas.space import PRESETS
from hwnas.target import PRECISIONS, RUNTIMES

__all__ = ["asset", "index", "run", "sweep"]

STATIC = Path(__file__).resolve().parent / "static"
_TYPES = {".js": "text/javascript", ".css": "text/css"}


@functools.lru_cache(maxsize=4)
def asset(name: str) -> tuple[bytes, str] | None:
    """``(bytes, media type)`` of a static file: ``plotly.js`` or a file of ``static/``."""
    if name == "plotly.js":
        return get_plotlyjs().encode(), "text/javascript"
    path = STATIC / name
    if name not in {p.name for p in STATIC.iterdir()} or path.suffix not in _TYPES:
        return None
    return path.read_bytes(), _TYPES[path.suffix]


def _page(title: str, body: str, script: str, plotly: bool = False) -> str:
    head = '<script src="/static/plotly.js"></script>' if plotly else ""
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="stylesheet" href="/static/style.css">{head}</head>'
        f'<body><header><a href="/">hwnas</a> <span>hardware-aware NAS on your device</span></header>'
        f'<main>{body}</main><script src="/static/app.js"></script><script>{script}</script></body></html>'
    )


# the deployment runtimes as the forms offer them (hwnas.target)
_RUNTIME_LABELS = {
    "executorch": "executorch (XNNPACK)",
    "onnxruntime": "onnxruntime",
    "torchscript": "torchscript (deprecated)",
    "pytorch": "pytorch (eager; the published tables)",
}


def _options(values, selected) -> str:
    out = []
    for v in values:
        value, label = (v["value"], v["label"]) if isinstance(v, dict) else (v, v)
        sel = " selected" if value == selected else ""
        target = f' data-target="{escape(v["target"])}"' if isinstance(v, dict) and v.get("target") else ""
        out.append(f'<option value="{escape(str(value))}"{sel}{target}>{escape(str(label))}</option>')
    return "".join(out)


def _deploy_fields(prefix: str, note: str) -> str:
    """The deployment target: runtime (executorch by default) and precision, as ``deploy.*`` overrides."""
    runtimes = [{"value": r, "label": _RUNTIME_LABELS.get(r, r)} for r in RUNTIMES]
    return (
        f"<fieldset><legend>deployment target</legend>"
        f'<label>runtime<select name="runtime" id="{prefix}-runtime">{_options(runtimes, "executorch")}</select>'
        f'</label><label>precision<select name="precision" id="{prefix}-precision">'
        f'{_options(PRECISIONS, "fp32")}</select></label><p class="meta">{note}</p></fieldset>'
    )


def _input(name: str, label: str, value, kind: str = "number", extra: str = 'step="any"') -> str:
    return (
        f'<label>{label}<input name="{name}" id="f-{name}" type="{kind}" value="{escape(str(value))}" '
        f"{extra if kind == 'number' else ''}></label>"
    )


def _data_fields(dataset: str, prefix: str = "") -> str:
    """The dataset (a built-in name, or imagefolder/npz with its root on the server) and the
    input size and channels (empty: the config's / the preset's)."""
    names = ([{"value": "", "label": "(the config's)"}] if not dataset else []) + list(DATASETS)
    channels = _options([{"value": "", "label": "(the preset's)"}, 1, 3], "")
    return (
        f'<label>dataset<select name="dataset">{_options(names, dataset)}</select></label>'
        f'<label>data root (imagefolder: a folder, npz: a file)<input name="data_root" id="f-{prefix}data_root" '
        'placeholder="(built-in places)"></label>'
        f'<label>input size<input name="input_size" id="f-{prefix}input_size" type="number" step="1" min="1" '
        'placeholder="(the preset\'s)"></label>'
        f'<label>channels<select name="channels">{channels}</select></label>'
    )


def _run_form(luts: list[dict], configs: list[str]) -> str:
    c = load_config(Path(__file__).resolve().parents[2] / "configs" / "smoke.yaml")
    knobs = "".join(
        _input(k, k, getattr(c.loss, k), extra='step="any" min="0"') for k in ("alpha", "beta", "gamma", "delta")
    )
    return f"""<section class="card"><h2>Search an architecture</h2>
<form id="run-form">
<label>name<input name="name" id="f-name" placeholder="(automatic)"></label>
<label>config<select name="config">{_options(configs, "smoke.yaml")}</select></label>
<label>LUT<select name="lut" id="f-lut">{_options(luts, c.lut.path)}</select></label>
<div class="upload"><input type="file" id="lut-file" accept=".json,application/json">
<button type="button" id="lut-upload">upload LUT</button></div>
<p class="error" id="lut-error"></p>
<label>space<select name="preset">{_options(PRESETS, c.space.preset)}</select></label>
{_input("width", "width", c.space.width)}
{_data_fields(c.data.dataset)}
{_deploy_fields("f", "the LUT's target: a LUT describes one runtime and precision (picking a LUT picks it)")}
<fieldset><legend>loss = CE + &alpha;&middot;LAT<sup>&beta;</sup> + &gamma;&middot;ENER<sup>&delta;</sup></legend>
<div class="knobs">{knobs}</div><p id="preview" class="preview"></p></fieldset>
{_input("search_epochs", "search epochs", c.search.epochs, extra='step="1" min="1"')}
{_input("child_epochs", "childnet epochs", c.child.epochs, extra='step="1" min="0"')}
<button type="submit">start search + childnet</button><p class="error" id="run-error"></p>
</form></section>"""


def _sweep_form(configs: list[str]) -> str:
    return f"""<section class="card"><h2>Run a sweep</h2>
<form id="sweep-form">
<label>name<input name="name" id="f-sweep-name" placeholder="(automatic)"></label>
<label>config<select name="config">{_options(configs, "sweep-smoke.yaml")}</select></label>
{_input("trials", "trials", 4, extra='step="1" min="1"')}
<label>dominant term<select name="dominant">{_options(["any", "latency", "energy"], "any")}</select></label>
{_input("max_latency_ms", "budget: max latency (ms)", "", extra='step="any" min="0"')}
{_input("max_energy_mj", "budget: max energy (mJ)", "", extra='step="any" min="0"')}
{_data_fields("", "s-")}
{_deploy_fields("s", "the LUT is profiled, childnets and baselines exported and timed in it")}
<button type="submit">start sweep</button><p class="error" id="sweep-error"></p>
</form></section>"""


def index(luts: list[dict], configs: list[str]) -> str:
    body = (
        f'<div class="grid">{_run_form(luts, configs)}{_sweep_form(configs)}</div>'
        '<section class="card"><h2>Runs and sweeps</h2><table id="jobs"><thead><tr><th>kind</th><th>name</th>'
        "<th>status</th><th>started</th><th>reason</th></tr></thead><tbody></tbody></table></section>"
    )
    return _page("hwnas", body, "initIndex();")


def run(name: str) -> str:
    stop = '<button id="stop" hidden>stop</button>'
    body = f"""<h1>run {escape(name)} <span id="status" class="badge"></span> {stop}</h1>
<p id="setup"></p><p id="phase"></p><p class="error" id="reason"></p>
<div class="grid"><section class="card"><h2>Search</h2><table id="metrics" class="kv"></table></section>
<section class="card"><h2>Architecture (argmax of theta)</h2><ol id="arch" class="ops"></ol>
<table id="child" class="kv"></table></section></div>
<section class="card"><h2>P(op) per layer</h2><div id="heatmap"></div></section>
<section class="card"><h2>Take home</h2><ul id="files"></ul></section>"""
    return _page(f"run {name}", body, f"initRun({_js(name)});", plotly=True)


def sweep(name: str) -> str:
    body = f"""<h1>sweep {escape(name)} <span id="status" class="badge"></span></h1>
<p id="info"></p><p class="error" id="reason"></p>
<p><button id="resume">resume</button> <label>to <input id="resume-trials" type="number" min="1" step="1"
placeholder="as many" style="width:6em"> trials in all</label> <button id="stop" hidden>stop</button>
<a id="report" href="#" hidden>open the report</a></p>
<p class="error" id="resume-error"></p><p id="optuna"></p>
<div id="final" class="card"></div><div id="recommended" class="card"></div>
<section class="card"><h2>Trials</h2><table id="trials"><thead><tr><th>trial</th><th>phase</th><th>epoch</th>
<th>test acc</th><th>LUT lat (ms)</th><th>LUT energy (mJ)</th><th>measured (ms)<br><span id="target-head"></span></th>
<th>budget</th><th>knobs</th>
<th>files</th></tr></thead><tbody></tbody></table></section>
<section class="card"><h2>One trial's search</h2><p id="trial-pick">pick a trial in the table to see how its
search chose: P(op) per layer at its last epoch</p><div id="heatmap"></div></section>
<section class="card"><h2>Take home</h2><ul id="files"></ul></section>"""
    return _page(f"sweep {name}", body, f"initSweep({_js(name)});", plotly=True)


def _js(text: str) -> str:
    """A JSON string literal safe inside a <script> element."""
    return json.dumps(text).replace("<", "\\u003c")
