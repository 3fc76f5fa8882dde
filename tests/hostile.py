"""Hostile strings: text anyone with write access to the queue can put in front of an operator.

One corpus for every surface (console, CLI, HTTP API, dashboard). Each entry is a string a job's
author, a worker or a stranger with Redis access could set as a job name, an argument, a kwargs
key or value, an error message, a traceback, a progress message, a worker id or host, or a
result. A surface passes when, for every entry in every field it shows:

- nothing crashes (a `MarkupError`, an encoding error, a template error);
- nothing is interpreted: markup stays literal text (`assert_markup_literal`), HTML is escaped,
  JSON stays valid, no header is injected;
- no raw control byte reaches the output (`unsafe_chars` is empty): no ESC, BEL, C1, bidi or
  zero-width character.

Use `CORPUS` (id -> text) for parametrised tests, `STORABLE` for fields stored as JSON (a lone
surrogate cannot be encoded as UTF-8, so a correct service refuses or replaces it), and
`LONG` for length limits.
"""

from __future__ import annotations

import unicodedata

__all__ = [
    "CORPUS",
    "LONG",
    "MARKUP",
    "STORABLE",
    "assert_markup_literal",
    "assert_no_raw_controls",
    "unsafe_chars",
]

#: Entries that a renderer which parses markup would interpret (or crash on).
MARKUP: dict[str, str] = {
    "rich-style": "[bold red]styled[/]",
    "rich-close": "[/]",
    "rich-click": "[@click=app.quit]click me[/]",
    "rich-link": "[link=https://evil.example]link[/link]",
    "brackets-path": "file list [/data/in, /data/out] unreadable",
    "brackets-worker": "worker[0]-[/tmp]",
    "textual-var": "$accent [$text]var[/]",
    "html": '<script>alert("x")</script><img src=x onerror=alert(1)>',
    "format": "{0} {name!r} %s %(x)s",
}

CORPUS: dict[str, str] = {
    **MARKUP,
    "osc52-clipboard": "\x1b]52;c;cHduZWQ=\x07copy",
    "osc2-title": "\x1b]2;pwned-title\x07title",
    "osc8-link": "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\",
    "clear-screen": "\x1b[2J\x1b[Hcleared",
    "csi-color": "\x1b[31mred\x1b[0m \x1b[?1049l",
    "c1-csi": "\x9b31mc1\x9d0;c1-title\x9c",
    "bell-backspace": "bell\x07\x08\x08\x7fdel",
    "cr-overwrite": "harmless\rEVIL",
    "newlines": "line one\nline two\r\n\tindented",
    "nul": "nul\x00byte",
    "bidi-override": "invoice_\u202egnp.exe",
    "bidi-isolate": "a\u2066b\u2069c\u200fd",
    "zero-width": "ad\u200bmin\u200d\u2060\ufeff",
    "line-separator": "para\u2028graph\u2029end",
    "wide-emoji": "漢字 🙂 e\u0301",
    "lone-surrogate": "bad\udc80name\ud800",
}

#: Entries that survive JSON encoding (everything but lone surrogates).
STORABLE: dict[str, str] = {k: v for k, v in CORPUS.items() if k != "lone-surrogate"}

#: A very long value (a name is capped at 200 characters; other fields are not).
LONG = "[bold]" + "\x1b[2J" * 2_000 + "x" * 100_000 + "[/]"

# What must never reach an output as a raw character: controls (C0 except newline, DEL, C1),
# format characters (bidi, zero-width, BOM, soft hyphen), surrogates, line/para separators.
_UNSAFE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def unsafe_chars(text: str, *, allow: str = "\n") -> list[str]:
    """The raw unsafe characters in `text` (as reprs), `allow` excepted."""
    return sorted({repr(c) for c in text if c not in allow and unicodedata.category(c) in _UNSAFE})


def assert_no_raw_controls(text: str, *, allow: str = "\n", where: str = "") -> None:
    found = unsafe_chars(text, allow=allow)
    assert not found, f"raw control characters {found} in {where or 'output'}"


def assert_markup_literal(text: str, entries: dict[str, str] = MARKUP, where: str = "") -> None:
    """Each markup entry shows as the literal text it is (its first 12 characters at least:
    a table may cut the rest)."""
    compact = " ".join(text.split())
    for key, value in entries.items():
        head = " ".join(value.split())[:12]
        assert head in compact, f"markup entry {key!r} ({head!r}) not shown literally in {where}"
