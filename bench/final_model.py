"""Figure (issue 23): the take-home model of a default sweep after its final stage.

    .venv/bin/python bench/final_model.py EXPERIMENT      # e.g. what bench/sweep_default.py ran

Reads the experiment a default sweep wrote (``configs/default.yaml``: the recommended
architecture trained again with the ``final`` recipe on all 60,000 Fashion-MNIST training
images, tested on the 10,000 test images; ``sweep.final``) and prints, last line,
``final_test_acc=<f> proxy_test_acc=<f> final_test_acc_int8=<f|nan> final_s=<s> epochs=<n>
main_job_s=<s>``:

- ``final_test_acc``: the final model's test accuracy (goal >= 0.91);
- ``proxy_test_acc``: the same architecture's childnet accuracy in the search (``child`` recipe);
- ``final_s``: wall time of the final stage (training, export, measurement) on this machine;
- ``main_job_s``: wall time of the whole ``sweep.run`` (goal: the README's main job <= 20 min).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hwnas.layout import FINAL, METRICS, RECORD


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("experiment")
    experiment = Path(p.parse_args().experiment)
    run = json.loads((experiment / RECORD).read_text())["runs"][-1]
    finals = [json.loads(m.read_text()) for m in sorted(experiment.glob(f"{FINAL}/*/{METRICS}"))]
    if not finals:
        raise SystemExit(f"{experiment}: no final model (final/*/metrics.json); did the sweep finish?")
    best = max(finals, key=lambda m: m["final"].get("proxy_test_acc") or 0.0)
    int8 = (best.get("deploy") or {}).get("test_acc_int8")
    print(
        f"trial={best['final'].get('trial')} ops={' '.join(best['ops'])} train_seconds={best['train_seconds']:.1f} "
        f"measured_ms={(best.get('measured') or {}).get('latency_ms')}"
    )
    print(
        f"final_test_acc={best['test_acc']:.4f} proxy_test_acc={best['final'].get('proxy_test_acc'):.4f} "
        f"final_test_acc_int8={'nan' if int8 is None else format(int8, '.4f')} final_s={run.get('final_s') or 0:.1f} "
        f"epochs={best['epochs']} main_job_s={run.get('wall_s') or 0:.1f}"
    )


if __name__ == "__main__":
    main()
