"""How search ignores case, the same on every engine: ASCII letters, and the two-byte UTF-8
letters whose lower case is also two bytes (Latin-1, Latin Extended, Greek, Cyrillic, Armenian
... 440 of them), map to their lower case; everything else matches only as written.

Redis folds each value inside search.lua (`string.lower`, then a table of two-byte sequences
that this module writes into the script), so the rule is defined once, here, and the memory
engine folds with `fold`. Python's own `str.lower` would also fold three-byte letters (and
'K' for the Kelvin sign) that the script cannot afford to, and the engines would disagree.
"""

from __future__ import annotations

__all__ = ["FOLD", "fold", "lua_fold_table"]


def _two_bytes(char: str) -> bool:
    return 0x80 <= ord(char) < 0x800


#: Upper-case letter -> lower case, for the letters folded beyond ASCII.
FOLD: dict[str, str] = {
    upper: lower
    for upper, lower in ((chr(c), chr(c).lower()) for c in range(0x80, 0x800))
    if lower != upper and len(lower) == 1 and _two_bytes(lower)
}
_TABLE = str.maketrans({**{chr(c): chr(c + 32) for c in range(65, 91)}, **FOLD})


def fold(text: str) -> str:
    """`text` as search compares it."""
    return text.translate(_TABLE)


def _lua_bytes(text: str) -> str:
    return "".join(f"\\{b}" for b in text.encode())


def lua_fold_table() -> str:
    """FOLD as the entries of a Lua table from UTF-8 bytes to UTF-8 bytes."""
    return " ".join(f"['{_lua_bytes(u)}'] = '{_lua_bytes(lo)}'," for u, lo in FOLD.items())
