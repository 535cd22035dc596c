"""The sweep: many HANNA searches as Ray Tune trials, knobs proposed by Optuna.

``python -m sweep.run`` (``sweep.run``; flags and config: ``sweep.options``) checks the
LUT, Ray and the budget before writing anything (``sweep.startup``), prepares an experiment
(shared warm-up, baselines: ``sweep.prepare``, record: ``sweep.experiment``) and runs the Ray Tune
``Tuner`` (``sweep.tuner``) whose trials (``sweep.trial``) search, retrain and measure
on the device (``sweep.device``), reusing identical childnets (``sweep.reuse``). Optuna
proposes knobs that are latency- or energy-dominant by construction (``sweep.knobs``,
``sweep.searcher``). ``--strategy random`` trains uniformly drawn architectures instead,
the baseline a search must beat (``sweep.random_arch``). Importing this package has no
side effects.
"""
