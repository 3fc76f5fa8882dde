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


#: Hostile requests, one per class of hole the web surface had (issue 25), each with the
#: status it must get. `headers` and `body` are as sent; `keyed` says whether the request
#: carries an operate key (the hole was there even with one) or no credential at all, and
#: `keyless` whether it is aimed at a server without keys (on loopback). Every one must also
#: change nothing in the queue. tests/web/test_hostile.py sends each through the real app.
HOSTILE_REQUESTS: dict[str, dict[str, object]] = {
    "unauthenticated 16 MiB batch": {
        "method": "POST",
        "path": "/api/v1/jobs/batch",
        "headers": {"content-type": "application/json", "content-length": str(16 * 2**20 - 1)},
        "body": b'{"jobs": [',
        "status": 401,
    },
    "unauthenticated sign-in flood": {
        "method": "POST",
        "path": "/api/v1/session",
        "headers": {"content-type": "application/json", "content-length": str(2**20)},
        "body": b'{"key": "',
        "status": 413,
    },
    "sign-in as text with json inside": {
        "method": "POST",
        "path": "/api/v1/session",
        "headers": {"content-type": "text/plain; a=application/json"},
        "body": b'{"key": "x"}',
        "status": 415,
    },
    "chunked body over the limit": {
        "method": "POST",
        "path": "/api/v1/jobs/batch",
        "headers": {"content-type": "application/json", "transfer-encoding": "chunked"},
        "body": b'{"jobs": [' + b" " * (16 * 2**20) + b"]}",
        "keyed": True,
        "status": 413,
    },
    "a dead letter named retry-all": {
        "method": "POST",
        "path": "/api/v1/jobs",
        "headers": {"content-type": "application/json"},
        "body": b'{"name": "x", "job_id": "retry-all"}',
        "keyed": True,
        "status": 422,
    },
    "a schedule tick taken first": {
        "method": "POST",
        "path": "/api/v1/jobs",
        "headers": {"content-type": "application/json"},
        "body": b'{"name": "x", "job_id": "sched:nightly:1700000040000"}',
        "keyed": True,
        "status": 422,
    },
    "a schedule named after a route word": {
        "method": "PUT",
        "path": "/api/v1/schedules/trigger",
        "headers": {"content-type": "application/json"},
        "body": b'{"job": "x", "every": 60}',
        "keyed": True,
        "status": 422,
    },
    "a one-second schedule from true": {
        "method": "PUT",
        "path": "/api/v1/schedules/nightly",
        "headers": {"content-type": "application/json"},
        "body": b'{"job": "x", "every": true}',
        "keyed": True,
        "status": 422,
    },
    "an event id past 64 bits": {
        "method": "GET",
        "path": "/api/v1/events?after=99999999999999999999-0",
        "keyed": True,
        "status": 422,
    },
    "a cross-site body-less pause": {
        "method": "POST",
        "path": "/api/v1/queue/pause",
        "headers": {"host": "127.0.0.1:8080", "origin": "http://evil.example"},
        "keyless": True,
        "status": 403,
    },
    "a same-site page's pause (another port)": {
        "method": "POST",
        "path": "/api/v1/queue/pause",
        "headers": {"host": "127.0.0.1:8080", "sec-fetch-site": "same-site", "x-csrf-token": ""},
        "keyless": True,
        "status": 403,
    },
    "a simple form retrying every dead letter": {
        "method": "POST",
        "path": "/api/v1/jobs/dead-letters/retry-all",
        "headers": {"host": "127.0.0.1:8080", "content-type": "application/x-www-form-urlencoded"},
        "body": b"a=1",
        "keyless": True,
        "status": 403,
    },
    "a DNS-rebinding page": {
        "method": "POST",
        "path": "/api/v1/queue/pause",
        "headers": {"host": "evil.example:8080", "content-type": "application/json"},
        "body": b"{}",
        "keyless": True,
        "status": 400,
    },
    "the API docs without a credential": {
        "method": "GET",
        "path": "/docs",
        "status": 401,
    },
}
