"""What differs between two configs (or any nested records): the one comparison every
``--resume`` makes, so each refusal names the keys that changed, ``key: old -> new``."""

from __future__ import annotations

__all__ = ["differences", "flatten"]


def flatten(record: dict, prefix: str = "") -> dict:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}`` (lists and other values are leaves)."""
    out = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        out.update(flatten(value, f"{name}.") if isinstance(value, dict) and value else {name: value})
    return out


def differences(old: dict, new: dict, ignore=()) -> list[str]:
    """``key: old -> new`` for every dotted key whose value differs, in key order, except
    keys equal to or under a name in ``ignore``."""
    a, b = flatten(old), flatten(new)

    def ignored(key: str) -> bool:
        return any(key == i or key.startswith(i + ".") for i in ignore)

    return [
        f"{k}: {_short(a.get(k))} -> {_short(b.get(k))}"
        for k in sorted(set(a) | set(b))
        if a.get(k) != b.get(k) and not ignored(k)
    ]


def _short(value) -> str:
    text = " ".join(repr(value).split())
    return text if len(text) <= 60 else text[:57] + "..."
