"""HANNA's two tables: the found networks against the hand-designed baselines.

Table 1 (``report.json`` key ``baselines``): every baseline of ``baselines.json`` and
every childnet on the front of accuracy vs measured cost (the search LUT's front when
nothing was measured, said in ``front``; one row per architecture, ``same_as`` naming the
other trials that found it), each with test accuracy, parameters, FLOPs
(``torch.utils.flop_counter``: 2 per multiply-accumulate; ``macs`` = FLOPs / 2), the
search LUT's latency (null for a baseline: the LUT holds only the search space's
blocks), the measured latency and the energies with their sources, each under its name
(``pareto.energy``): measured by a meter, a childnet's LUT energy, a baseline's
``model_energy_mj`` from the same analytical model; ``energy_basis`` names the one the tables
use (measured where a meter measured, else modeled). Each row names the
deployment ``target`` its latency was measured in (a baseline is deployed and timed in
the sweep's target, as the childnets are) and, for int8, the program's own
``test_acc_int8`` with ``int8_drop_points`` = 100 x (test_acc - test_acc_int8).

Table 2 (key ``comparison``): each front childnet against each baseline:
``acc_diff_points`` = 100 x (childnet accuracy - baseline accuracy); ``speedup`` =
baseline measured latency / childnet measured latency (null unless both were measured:
there is no LUT estimate of a baseline; null too when the two were timed in different
deployment targets); ``energy_ratio`` = baseline energy / childnet
energy ("x times less energy"), on measured energy when both were metered, else on
modeled energy when both come from the same model (``energy_basis`` names it), else null.
"""

import pandas as pd

from hwnas.layout import BASELINES

from . import page
from .columns import lut_columns, search_lut
from .deploy import int8_drop_points, target_key
from .energy import energy_fields, shown_energy, with_shown_energy

__all__ = ["comparison_rows", "table1_rows", "table_sections"]

_NO_LUT = "n/a: the LUT holds the search space's blocks only, it cannot estimate a baseline"


def _v(value):
    """None for missing values (NaN included)."""
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def _front(fronts: list, trials: pd.DataFrame, luts: dict) -> tuple[str | None, list]:
    """The front whose childnets the tables show: measured, else the search LUT's."""
    by_name = {f["name"]: f for f in fronts}
    if (by_name.get("measured") or {}).get("trial_ids"):
        return "measured", by_name["measured"]["trial_ids"]
    name = search_lut(trials, luts)
    front = by_name.get(f"lut:{name}") if name else None
    return (front["name"], front["trial_ids"]) if front else (None, [])


def _baseline_row(b: dict) -> dict:
    timed = b.get("measured") if isinstance(b.get("measured"), dict) else {}
    energy = energy_fields(
        measured=(_v(timed.get("energy_mj")), _v(timed.get("energy_source"))),
        model=(_v(b.get("model_energy_mj")), _v(b.get("model_energy_source"))),
    )
    flops = _v(b.get("flops"))
    deploy = b.get("deploy") if isinstance(b.get("deploy"), dict) else {}
    int8 = _v(deploy.get("test_acc_int8"))
    return {
        "kind": "baseline",
        "name": b.get("name"),
        "width": _v(b.get("width")),
        "test_acc": _v(b.get("test_acc")),
        "test_acc_int8": int8,
        "int8_drop_points": int8_drop_points(_v(b.get("test_acc")), int8),
        "target": target_key(deploy),
        "model": b.get("model") if isinstance(b.get("model"), str) else None,
        "params": _v(b.get("params")),
        "flops": flops,
        "macs": None if flops is None else flops // 2,
        "lut_latency_ms": None,
        "measured_latency_ms": _v(timed.get("latency_ms")),
        **energy,
        "front": None,
        "same_as": [],
        "note": _NO_LUT if b.get("test_acc") is not None else f"untrained (test_acc null); {_NO_LUT}",
    }


def _childnet_row(t: dict, front: str) -> dict:
    lut = t.get("search_lut")
    cols = lut_columns(lut) if lut else {}
    energy = energy_fields(
        measured=(_v(t.get("measured_energy_mj")), _v(t.get("measured_energy_source"))),
        lut=(_v(t.get(cols.get("energy"))), _v(t.get(cols.get("energy_source")))),
    )
    flops = _v(t.get("flops"))
    return {
        "kind": "childnet",
        "name": t["trial_id"],
        "width": None,
        "test_acc": _v(t.get("test_acc")),
        "test_acc_int8": _v(t.get("test_acc_int8")),
        "int8_drop_points": _v(t.get("int8_drop_points")),
        "target": _v(t.get("measured_target")) or _v(t.get("deploy_target")),
        "model": _v(t.get("model_file")),
        "params": _v(t.get("params")),
        "flops": flops,
        "macs": None if flops is None else int(flops) // 2,
        "lut_latency_ms": _v(t.get(cols.get("latency"))),
        "measured_latency_ms": _v(t.get("measured_latency_ms")),
        **energy,
        "front": front,
        "note": f"on the {front} front; ops: {t.get('ops')}",
    }


def table1_rows(baselines: list, trials: pd.DataFrame, fronts: list, luts: dict, deploy: dict | None = None) -> list:
    """Table 1: the baselines, then the front's childnets from the fastest (module docstring).
    ``deploy``: the experiment's target (``pareto.deploy``), for rows that name none."""
    front, ids = _front(fronts, trials, luts)
    by_arch: dict = {}  # trials that found the same architecture: one row, the others named in it
    for t in trials[trials["trial_id"].isin(ids)].to_dict("records"):
        by_arch.setdefault(t.get("ops") or t["trial_id"], []).append(t)
    children = [
        dict(_childnet_row(same[0], front), same_as=[t["trial_id"] for t in same[1:]]) for same in by_arch.values()
    ]
    children.sort(
        key=lambda r: (r["measured_latency_ms"] is None, r["measured_latency_ms"] or r["lut_latency_ms"] or 0.0)
    )
    rows = [_baseline_row(b) for b in baselines if isinstance(b, dict)] + children
    for row in rows:
        row["target"] = row["target"] or (deploy or {}).get("target")
    return rows


def _ratio(numerator, denominator):
    return numerator / denominator if numerator is not None and denominator else None


def _energy_pair(child: dict, base: dict):
    """(ratio, basis): metered by the same meter on both sides, else the same model on both
    sides, else none: a ratio never mixes energy sources (``meter:pmic`` against
    ``meter:fnirsi``, or a replay against a measurement, means nothing)."""
    (child_mj, child_source), (base_mj, base_source) = shown_energy(child), shown_energy(base)
    if child["energy_basis"] == "measured" and base["energy_basis"] == "measured":
        if child_source != base_source:
            return None, None
        return _ratio(base_mj, child_mj), "measured"
    if child_mj is not None and str(child_source).startswith("model:") and base_source == child_source:
        return _ratio(base_mj, child_mj), child_source
    return None, None


def comparison_rows(table1: list[dict]) -> list[dict]:
    """Table 2: each front childnet against each baseline (module docstring)."""
    bases = [r for r in table1 if r["kind"] == "baseline"]
    out = []
    for child in (r for r in table1 if r["kind"] == "childnet"):
        for base in bases:
            points = (
                None
                if child["test_acc"] is None or base["test_acc"] is None
                else 100.0 * (child["test_acc"] - base["test_acc"])
            )
            other = child["target"] and base["target"] and child["target"] != base["target"]
            speedup = None if other else _ratio(base["measured_latency_ms"], child["measured_latency_ms"])
            energy, energy_basis = _energy_pair(child, base)
            out.append(
                {
                    "childnet": child["name"],
                    "baseline": base["name"],
                    "acc_diff_points": points,
                    "speedup": speedup,
                    "latency_basis": "measured" if speedup is not None else None,
                    "energy_ratio": energy,
                    "energy_basis": energy_basis,
                    "summary": _summary(points, speedup, energy, energy_basis, bool(other)),
                }
            )
    return out


def _summary(points, speedup, energy, energy_basis, other_target: bool = False) -> str:
    """HANNA's sentence: "x times faster, y times less energy for z points of accuracy"."""
    missing = "timed in different deployment targets" if other_target else "not measured"
    faster = f"{speedup:.2f}x faster (measured)" if speedup is not None else f"speed-up n/a ({missing})"
    less = (
        f"{energy:.2f}x less energy ({energy_basis})"
        if energy is not None
        else "energy ratio n/a (no energy on both sides from one source)"
    )
    accuracy = "accuracy n/a" if points is None else f"{points:+.2f} points of accuracy"
    return f"{faster}, {less}, {accuracy}"


_TABLE1 = [
    ("kind", "kind"),
    ("network", "name"),
    ("width", "width"),
    ("test acc", "test_acc"),
    ("test acc int8", "test_acc_int8"),
    ("int8 drop (points)", "int8_drop_points"),
    ("params", "params"),
    ("FLOPs", "flops"),
    ("MACs", "macs"),
    ("LUT lat ms", "lut_latency_ms"),
    ("measured lat ms", "measured_latency_ms"),
    ("timed in", "target"),
    ("energy mJ", "energy_mj"),
    ("energy source", "energy_source"),
    ("energy basis", "energy_basis"),
]
_TABLE2 = [
    ("childnet", "childnet"),
    ("baseline", "baseline"),
    ("accuracy diff (points)", "acc_diff_points"),
    ("speed-up (x)", "speedup"),
    ("latency basis", "latency_basis"),
    ("energy ratio (x)", "energy_ratio"),
    ("energy basis", "energy_basis"),
    ("in words", "summary"),
]


def table_sections(table1: list[dict], comparison: list[dict], target: str = "target unknown") -> list:
    """report.html's two sections (heading, HTML); ``target``: the experiment's deployment
    target as the page names it (``ExecuTorch fp32 (1.5.1)``)."""
    heading1 = f"Table 1: baselines and front childnets, measured in {target}"
    heading2 = f"Table 2: childnets vs baselines, speed-up in {target}"
    if not any(r["kind"] == "baseline" for r in table1):
        note = f"<p class=note>no baselines in the experiment ({BASELINES} absent or empty; config baselines)</p>"
        return [(heading1, note), (heading2, note)]
    front = next((r["front"] for r in table1 if r["kind"] == "childnet"), None)
    columns = [c for c in _TABLE1 if c[1] not in ("test_acc_int8", "int8_drop_points")]
    if any(r.get("test_acc_int8") is not None for r in table1):
        columns = _TABLE1
    intro = (
        f"<p class=meta>Baselines trained with the childnet recipe, deployed and measured in the same target as "
        f"the childnets ({page.esc(target)}) with the childnet protocol; "
        f"childnets of the {page.esc(front or 'n/a')} front. FLOPs count 2 per MAC. LUT latency: {_NO_LUT}. "
        f"Energy: measured where a meter measured, else modeled (source named).</p>"
    )
    ratio = (
        "<p class=meta>accuracy diff = childnet - baseline (points); speed-up = baseline measured latency / "
        "childnet measured latency (n/a when the two were timed in different targets); energy ratio = baseline "
        "energy / childnet energy (same source on both sides, else n/a).</p>"
    )
    return [
        (
            heading1,
            intro + page.table_html(pd.DataFrame([with_shown_energy(r) for r in table1]), columns, sortable=False),
        ),
        (
            heading2,
            ratio
            + (
                page.table_html(pd.DataFrame(comparison), _TABLE2)
                if comparison
                else "<p class=note>no front childnet</p>"
            ),
        ),
    ]
