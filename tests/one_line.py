"""The one-line refusal every CLI makes of bad input (exit 2, one ``error:`` line), checked
the same way wherever a test calls a CLI's ``main(argv)`` in its own process."""

import pytest

__all__ = ["refused"]


def refused(main, argv: list, capsys, match: str = "") -> str:
    """``main(argv)`` exits 2 printing exactly one stderr line, ``error: ...`` holding ``match``:
    that line."""
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err.strip()
    assert exit_.value.code == 2, f"exit {exit_.value.code}: {err}"
    assert err.startswith("error: "), err
    assert "\n" not in err, err
    assert match in err, err
    return err
