"""Retrain, evaluate, export and measure a found architecture.

- ``childnet.train``: ``run_child(cfg, arch, out_dir, ...)`` and the CLI
- ``childnet.recipe``: ``train_and_test``, the training loop shared with the sweep's baselines
- ``childnet.export``: ``export_model`` / ``load_exported`` (TorchScript with metadata)
- ``childnet.measure``: ``measure_file`` and the CLI; needs only torch and ``hwnas``
"""
