"""The experiment folder's layout: the name of every file an experiment holds, in one place.

An experiment is ``<storage>/<name>/`` (``docs/formats.md``, "Sweep experiment directory"):
its record, lock and study at the top, one folder a trial (Ray Tune's), each with the
search's and the childnet's folders, the report and the final models. Code that reads or
writes any of these files takes the name from here (and the folder from the functions
below), never from a literal, so renaming a file is one line. Torch-free.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "ARCH",
    "BASELINES",
    "CHECKPOINT",
    "CHILD",
    "CHILDREN",
    "CONFIG",
    "ERROR",
    "FINAL",
    "LOCK",
    "MEASUREMENTS",
    "METRICS",
    "PARAMS",
    "PARETO_CSV",
    "PROGRESS",
    "RECORD",
    "REPORT",
    "REPORT_HTML",
    "REPORT_JSON",
    "RESULT",
    "SEARCH",
    "STUDY",
    "SWEEP_LUT",
    "THETA",
    "TRIALS_CSV",
    "TRIAL_MARKERS",
    "TRIAL_STATE",
    "TUNER",
    "WARMUP",
    "WEIGHTS",
    "child_dir",
    "final_dir",
    "is_trial_folder",
    "report_dir",
    "search_dir",
]

# The experiment's top level.
RECORD = "sweep.json"  # the resolved config, budget, objectives, runs (sweep.experiment)
LOCK = ".lock"  # one writer at a time (hwnas.lock)
BASELINES = "baselines.json"  # the hand-designed networks' results (sweep.baselines)
MEASUREMENTS = "measurements.json"  # the quiet measurement phase's progress (sweep.measurements)
STUDY = "optuna.db"  # the Optuna study (sweep.study)
TUNER = "tuner.pkl"  # Ray Tune's experiment state, Ray's own pickle (sweep.tuner)
WARMUP = "warmup.pt"  # the shared supernet warm-up (sweep.prepare)
SWEEP_LUT = "lut.json"  # the LUT profiled for this experiment (sweep.startup)
REPORT = "report"  # pareto.report's output folder
FINAL = "final"  # final/<trial folder>/: the fully trained models (sweep.final)
CHILDREN = "children"  # children/<key>.json: the childnets trials may reuse (sweep.reuse)

# A trial folder (Ray Tune's, one a trial).
PARAMS = "params.json"  # the knobs Ray gave the trial
RESULT = "result.json"  # the trial's reported rows, one JSON object a line
TRIAL_STATE = "trial_state.json"  # which phase a resumed trial continues (sweep.trial)
TRIAL_MARKERS = (PARAMS, RESULT)  # a folder holding either is a trial's
SEARCH = "search"  # supernet.search's output folder
CHILD = "child"  # childnet.train's output folder
CONFIG = "config.yaml"  # the config a run started with (a trial's folder, SEARCH, CHILD)
ERROR = "error.txt"  # a failed trial's traceback, written by Ray Tune

# Inside SEARCH and CHILD (and a final model's folder).
ARCH = "arch.json"  # the architecture theta chose (supernet.search)
PROGRESS = "progress.json"  # the search's epochs so far (supernet.progress)
THETA = "theta.json"  # theta after every epoch (supernet.progress)
CHECKPOINT = "checkpoint.pt"  # a resumable training state
METRICS = "metrics.json"  # a childnet's result (childnet.train, childnet.finalize)
WEIGHTS = "model.weights.pt"  # a model's data file (childnet.export)

# Inside REPORT.
REPORT_JSON, REPORT_HTML = "report.json", "report.html"
TRIALS_CSV, PARETO_CSV = "trials.csv", "pareto.csv"


def is_trial_folder(path: str | Path) -> bool:
    """True when ``path`` is a trial's folder (it holds params.json or result.json)."""
    return any((Path(path) / marker).is_file() for marker in TRIAL_MARKERS)


def search_dir(trial: str | Path) -> Path:
    return Path(trial) / SEARCH


def child_dir(trial: str | Path) -> Path:
    return Path(trial) / CHILD


def report_dir(experiment: str | Path) -> Path:
    return Path(experiment) / REPORT


def final_dir(experiment: str | Path, trial_folder: str) -> Path:
    """Where the final stage writes the fully trained model of ``trial_folder`` (a name)."""
    return Path(experiment) / FINAL / trial_folder
