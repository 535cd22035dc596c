"""The suite's worker groups take effect (tests/conftest.py, ``scripts/test.sh``): a module's
module-scoped fixtures (a trained network, a real sweep) are built once only when its tests run
on one worker. pytest-xdist 3.8 with pytest 9.2 ignored them without a word (pyproject.toml)."""

import pytest


def test_this_test_runs_in_its_modules_group(request):
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("not a pytest-xdist worker with --dist loadgroup (scripts/test.sh runs one)")
    group = request.node.get_closest_marker("xdist_group").args[0]
    assert group == "tests/test_xdist_groups.py", group
    assert request.node.nodeid.endswith(f"@{group}"), (
        f"pytest-xdist did not put {request.node.nodeid} in its group {group}: --dist loadgroup "
        "ignores the groups with this pytest (see pyproject.toml's dev extras)"
    )
