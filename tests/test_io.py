"""hwnas.io: atomic writes (nothing half-written, temp files removed, umask
permissions, groups all-or-nothing) and one-line JSON errors."""

import os

import pytest

from hwnas.errors import UserError
from hwnas.io import atomic_write, atomic_write_json, atomic_write_many, atomic_write_text, read_json


def test_new_file_gets_umask_permissions_and_replaces_the_old(tmp_path):
    old = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / "a.txt", "one")
        atomic_write_text(tmp_path / "a.txt", "two")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").read_text() == "two"
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_failure_leaves_the_old_file_and_no_temp(tmp_path):
    atomic_write_json(tmp_path / "s.json", {"ok": 1})

    def half(tmp):
        open(tmp, "w").write('{"half')
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(tmp_path / "s.json", half)
    assert read_json(tmp_path / "s.json") == {"ok": 1}
    assert len(list(tmp_path.iterdir())) == 1


def test_a_group_is_all_or_nothing(tmp_path):
    atomic_write_many([(tmp_path / n, lambda t, n=n: open(t, "w").write(n)) for n in ("a", "b")])

    def boom(tmp):
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        atomic_write_many([(tmp_path / "a", lambda t: open(t, "w").write("new")), (tmp_path / "b", boom)])
    assert (tmp_path / "a").read_text() == "a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]


@pytest.mark.parametrize(
    "text, match",
    [("{", "not valid JSON"), ("[" * 100000 + "]" * 100000, "nested too deeply"), ("9" * 5000, "not usable JSON")],
)
def test_bad_json_is_one_line(tmp_path, text, match):
    (tmp_path / "x.json").write_text(text)
    with pytest.raises(UserError, match=match) as err:
        read_json(tmp_path / "x.json", "record")
    assert "\n" not in str(err.value)
