"""FBNet-style differentiable architecture search with the HANNA latency + energy loss.

- ``supernet.search``: ``run_search(cfg, out_dir, ...)``, ``run_warmup(cfg, path)``, the CLI
- ``supernet.setup``: ``SearchSetup`` (space, data, costs from a config), arch.json, the warm-up file
- ``supernet.steps``: an epoch's two passes, the weights then theta
- ``supernet.progress``: an epoch's metrics, progress.json / theta.json / arch.json, TensorBoard curves
- ``supernet.resume``: the checkpoint and where a run starts from (its checkpoint, a warm-up, fresh)
- ``supernet.model``: ``Supernet`` (stem, one ``MixedOp`` per layer, head, theta)
- ``supernet.mixed``: ``MixedOp`` and the naive / exact / single_path executions (``search.execution``)
- ``supernet.loss``: ``SearchLoss`` (hanna | fbnet forms), ``expected_cost``, ``CostTables``
- ``supernet.schedule``: temperature and learning-rate schedules (pure)
"""
