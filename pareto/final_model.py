"""The take-home model(s) of the sweep's final stage (``<experiment>/final/<trial>/metrics.json``,
written by ``childnet.finalize``; docs/formats.md): the report's first section and
report.json's ``final_models``.

A final model has the recommended architecture trained with the longer ``final`` recipe; its
proxy accuracy is what the search's childnet of that trial reached with the ``child`` recipe.
"""

import glob
import os

import pandas as pd

from hwnas.errors import UserError
from hwnas.io import read_json
from hwnas.keys import upgrade
from hwnas.layout import FINAL, METRICS

from . import page
from .deploy import target_label
from .energy import energy_fields, with_shown_energy
from .trial_folder import FILE_KIND

__all__ = ["below_proxy", "final_line", "final_section", "read_final_models"]


def _row(folder: str, root: str, metrics: dict) -> dict:
    final = metrics.get("final") if isinstance(metrics.get("final"), dict) else {}
    measured = metrics.get("measured") if isinstance(metrics.get("measured"), dict) else {}
    deploy = metrics.get("deploy") if isinstance(metrics.get("deploy"), dict) else {}
    recipe = final.get("recipe") if isinstance(final.get("recipe"), dict) else {}
    model = metrics.get("model")
    lut = metrics.get("lut") if isinstance(metrics.get("lut"), dict) else {}
    key = f"{deploy['runtime']}-{deploy['precision']}" if deploy.get("runtime") and deploy.get("precision") else None
    return {
        "trial_id": final.get("trial") or os.path.basename(folder),
        "proxy_test_acc": final.get("proxy_test_acc"),
        "test_acc": metrics.get("test_acc"),
        "test_acc_int8": deploy.get("test_acc_int8"),
        "deploy_agreement": deploy.get("deploy_agreement"),
        "epochs": recipe.get("epochs"),
        "train_size": recipe.get("train_size"),
        "train_seconds": metrics.get("train_seconds"),
        "measured_latency_ms": measured.get("latency_ms"),
        "lut_latency_ms": lut.get("lut_latency_ms"),
        # each energy under its name, energy_basis the one shown (as the recommended model's)
        **energy_fields(
            measured=(measured.get("energy_mj"), measured.get("energy_source")),
            lut=(lut.get("lut_energy_mj"), lut.get("energy_source")),
        ),
        "target_label": target_label(key, deploy.get("runtime_version")) if key else None,
        "ops": " ".join(map(str, metrics["ops"])) if isinstance(metrics.get("ops"), list) else None,
        "model": os.path.abspath(os.path.join(folder, model)) if isinstance(model, str) else None,
        "folder": os.path.relpath(folder, root),
    }


def read_final_models(root: str, problems: list, skip_unreadable: bool = False) -> list[dict]:
    """One row per finished final model, the most accurate proxy first; a damaged metrics.json
    is refused in one line (``skip_unreadable``: noted in ``problems`` and left out)."""
    rows = []
    for path in glob.glob(os.path.join(glob.escape(root), FINAL, "*", METRICS)):
        try:
            metrics = upgrade(read_json(path, FILE_KIND, dict), "metrics", path)
        except UserError as err:
            if not skip_unreadable:
                raise UserError(f"{err}; train it again with sweep.run --resume after deleting it") from None
            problems.append(f"{err}; final model ignored")
            continue
        rows.append(_row(os.path.dirname(path), root, metrics))
    return sorted(rows, key=lambda r: -(r["proxy_test_acc"] or 0.0))


def below_proxy(row: dict) -> str | None:
    """What to say when the final model tests below its own proxy-trained childnet: the
    longer recipe should not lose accuracy, so the final recipe does not suit this data."""
    final, proxy = row.get("test_acc"), row.get("proxy_test_acc")
    if final is None or proxy is None or final >= proxy:
        return None
    return (
        f"the final model tests below its proxy-trained childnet ({final:.4f} < {proxy:.4f}): on this data the "
        f"final recipe ({row.get('epochs')} epochs) did not beat the search's; more epochs (final.epochs) may help"
    )


def final_line(rows: list[dict]) -> str | None:
    """The terminal's line about the first final model (None without one)."""
    if not rows:
        return None
    r = rows[0]
    int8 = f" int8 {r['test_acc_int8']:.4f}" if r.get("test_acc_int8") is not None else ""
    latency = f" {r['measured_latency_ms']:.4g} ms measured" if r.get("measured_latency_ms") is not None else ""
    proxy = f" (proxy {r['proxy_test_acc']:.4f})" if r.get("proxy_test_acc") is not None else ""
    line = f"final model: {r['trial_id']} test_acc={r['test_acc']:.4f}{proxy}{int8}{latency}; model: {r['model']}"
    warning = below_proxy(r)
    return line + (f"\nwarning: {warning}" if warning else "")


def final_section(rows: list[dict]) -> tuple | None:
    """The report's "Final model" section (None when the stage has not run)."""
    if not rows:
        return None
    r = rows[0]
    target = r.get("target_label") or "target unknown"
    split = f"{r['train_size']:,} training images" if r.get("train_size") else "the whole training split"
    lead = (
        f"<p class=meta>The recommended architecture ({page.esc(r['trial_id'])}) trained again from scratch with "
        f"the final recipe ({r['epochs']} epochs on {split}): this is the model to take home. "
        f"Deployment target: {page.esc(target)}.</p>"
    )
    if below_proxy(r):
        lead += f"<p class=note>{page.esc(below_proxy(r)[:1].upper() + below_proxy(r)[1:])}.</p>"
    columns = [("trial", "trial_id"), ("proxy test acc", "proxy_test_acc"), ("final test acc", "test_acc")]
    if any(x.get("test_acc_int8") is not None for x in rows):
        columns.append(("final test acc int8", "test_acc_int8"))
    columns += [
        (f"measured latency ms [{target}]", "measured_latency_ms"),
        ("energy mJ", "energy_mj"),
        ("energy source", "energy_source"),
        ("train s", "train_seconds"),
        ("file", "model"),
    ]
    # without an energy, the source column keeps what the measurement says (e.g. "none")
    shown = [with_shown_energy(x, x.get("measured_energy_source")) for x in rows]
    return "Final model", lead + page.table_html(pd.DataFrame(shown), columns, sortable=False)
