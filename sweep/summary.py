"""What a finished sweep printed at the end: counts, failures with their reasons, the
best trial per objective and the recommended model. The full analysis is
``pareto.report``'s job."""

from __future__ import annotations

from pathlib import Path

from hwnas.domains import KNOBS
from hwnas.errors import UserError
from hwnas.layout import REPORT
from pareto.experiment import read_experiment
from pareto.recommended import recommended_line, recommended_model

__all__ = ["recommendation", "summarize"]


def _first_line(error) -> str:
    text = str(error).strip()
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else error.__class__.__name__


def summarize(results, metrics: list[str], directions: list[str]) -> dict:
    """``results``: a Ray Tune ``ResultGrid``."""
    done, failed, other = [], [], []
    for result in results:
        row = result.metrics or {}
        if result.error is not None:
            failed.append((result.path, _first_line(result.error)))
        elif row.get("phase") == "done":
            done.append(row)
        else:
            other.append(row)
    unfinished = sum(1 for row in other if not row.get("done"))  # Ray marks scheduler-stopped trials done
    lines = [
        f"sweep: {len(done)} trials finished, {len(failed)} failed, {len(other) - unfinished} stopped early, "
        f"{unfinished} unfinished"
    ]
    for path, reason in failed:
        lines.append(f"  failed {path.rsplit('/', 1)[-1]}: {reason}")
    for metric, direction in zip(metrics, directions):
        rows = [r for r in done if isinstance(r.get(metric), (int, float))]
        if rows:
            best = (max if direction == "max" else min)(rows, key=lambda r: r[metric])
            cfg = best.get("config", {})
            knobs = ", ".join(f"{k}={cfg[k]:.3g}" for k in KNOBS if k in cfg)
            lines.append(f"  best {metric} ({direction}): {best[metric]:.4g}  [{best.get('trial_id')}; {knobs}]")
    return {"finished": len(done), "failed": len(failed), "unfinished": unfinished, "text": "\n".join(lines)}


def recommendation(experiment: Path) -> str:
    """The recommended model in one line, read from the trials' files by the report's own
    reader and rule (``pareto.recommended``: one rule, the summary and the report agree)."""
    try:
        exp = read_experiment(str(experiment), skip_dir=str(experiment / REPORT))
    except UserError as err:
        return f"recommended: none ({err})"
    return recommended_line(recommended_model(exp))
