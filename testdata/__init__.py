"""Synthetic sweep experiments for the report's tests, the web's and the scale bench: made-up
(seeded) numbers in the real layout (``docs/formats.md``; ``tests/test_contract.py`` checks
the records against ``hwnas.records``), and marked so (``"synthetic": true`` in sweep.json).
Test data, not the tool's: a top-level folder that pyproject's package list leaves out, outside
``tests/`` so that the benches import it without importing from the tests.

``write_synthetic_experiment``: finished, running and failed trials; ``write_rows_experiment``:
finished trials with exactly the given values (hand-checked tests). The records' shapes are in
:mod:`.records`.
"""

from .experiments import write_rows_experiment, write_synthetic_experiment

__all__ = ["write_rows_experiment", "write_synthetic_experiment"]
