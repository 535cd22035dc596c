"""Runs a matrix test of ``tests/`` through pytest in this process and hands back what each
of its cases recorded with ``record_property("outcome", {...})``: a bench counts a matrix's
outcomes without importing anything from ``tests/``, and the matrix stays the tests' own.

A case that ended before it recorded an outcome (its setup or its own code raised) is
returned by its id, for the bench to count as a failure. pytest's progress goes to stdout
(no tracebacks: the bench prints its own line per failing case).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest

__all__ = ["run_matrix"]


def _case(nodeid: str) -> str:
    """The case's parameter id, e.g. ``signal/sigint-in-trials``."""
    return nodeid.partition("[")[2].removesuffix("]")


class _Recorded:
    """A pytest plugin: only the cases ``keep(id)`` accepts run; keeps what each recorded."""

    def __init__(self, keep: Callable[[str], bool]):
        self.keep = keep
        self.outcomes: list[dict] = []
        self.unrecorded: list[str] = []

    def pytest_collection_modifyitems(self, config, items):
        dropped = [item for item in items if not self.keep(_case(item.nodeid))]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = [item for item in items if self.keep(_case(item.nodeid))]

    def pytest_runtest_logreport(self, report):
        if report.when != "call" and not (report.when == "setup" and report.failed):
            return
        recorded = dict(report.user_properties).get("outcome")
        if recorded is not None:
            self.outcomes.append(recorded)
        else:
            self.unrecorded.append(_case(report.nodeid))


def run_matrix(test: str, *options: str, keep: Callable[[str], bool] = lambda case: True) -> tuple[list, list]:
    """pytest ``test`` (a node id) with ``options``, only the cases ``keep`` accepts:
    ``(outcomes recorded, ids of the cases that recorded none)``. Exits with one line when
    pytest could not run the matrix (a usage or collection error)."""
    plugin = _Recorded(keep)
    argv = ["-q", "--tb=no", "-rN", "-p", "no:cacheprovider", *options, test]
    code = pytest.main(argv, plugins=[plugin])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.NO_TESTS_COLLECTED):
        sys.exit(f"pytest could not run the matrix {test} (exit {int(code)}; see its output above)")
    return plugin.outcomes, plugin.unrecorded
