"""Untrusted text made safe to show to an operator.

Anything a job's author, a worker or a stranger with write access to Redis can set (job names,
arguments, error messages, tracebacks, progress messages, worker ids and hosts, results) is
data. Shown raw, such text can drive the operator's terminal (OSC 52 writes the clipboard, OSC 2
sets the window title, ``ESC[2J`` blanks the screen), reorder what the operator reads (bidi
overrides) or hide characters (zero-width). :func:`display_text` is the one place that turns such
a value into text that is safe to put on a terminal, in a log line or in a table cell: every
character that would act rather than show is replaced by a visible stand-in.

It does not escape markup: markup is a property of the renderer, and the rule is that no
surface ever parses data as markup (the console uses ``rich.text.Text`` or ``markup=False``).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache
from typing import Any, Final

__all__ = ["ELLIPSIS", "SafeFormatter", "display_text"]

#: Appended when a value is cut to its display limit.
ELLIPSIS: Final = "…"

# Unicode categories whose characters act instead of showing: controls (C0, DEL, C1), format
# characters (bidi embeddings/overrides/isolates, zero-width space/joiners, soft hyphen, BOM,
# tag characters), lone surrogates and the line/paragraph separators.
_UNSAFE_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


@lru_cache(maxsize=4096)
def _stand_in(char: str) -> str:
    """The visible replacement for one unsafe character.

    C0 controls become their Unicode "control picture" (``ESC`` -> ``␛``, so ``\\x1b[2J`` reads
    ``␛[2J``); DEL becomes ``␡``; everything else (C1 controls, bidi and zero-width characters,
    lone surrogates) becomes a ``<U+XXXX>`` tag that names it without doing it.
    """
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)
    if code == 0x7F:
        return "\u2421"
    return f"<U+{code:04X}>"


_NOT_PLAIN_ASCII: Final = re.compile(r"[^\x20-\x7e]+")


def _safe_run(run: str, multiline: bool) -> str:
    out: list[str] = []
    for char in run:
        if multiline and char == "\n":
            out.append(char)
        elif multiline and char == "\t":
            out.append("    ")
        elif _unsafe(char):
            out.append(_stand_in(char))
        else:
            out.append(char)  # other spaces, private-use and unassigned code points show
    return "".join(out)


def _one_line_run(match: re.Match[str]) -> str:
    return _safe_run(match.group(), False)


def _multiline_run(match: re.Match[str]) -> str:
    return _safe_run(match.group(), True)


@lru_cache(maxsize=8192)
def _unsafe(char: str) -> bool:
    return unicodedata.category(char) in _UNSAFE_CATEGORIES


def display_text(
    value: object,
    *,
    limit: int | None = None,
    multiline: bool = False,
) -> str:
    """``value`` as text that is safe to show: nothing in it can act on a terminal or renderer.

    - ``None`` is ``""``; other non-strings go through ``str()`` (format JSON before calling if
      that is what should show).
    - Control characters (C0, DEL, C1), bidi controls, zero-width and other format characters,
      lone surrogates and line/paragraph separators are replaced by visible stand-ins, so the
      operator sees that they are there and the terminal never receives them.
    - ``multiline=True`` keeps ``\\n`` line breaks (tracebacks, detail views) and turns tabs into
      four spaces; otherwise (table cells, one-line messages) they are shown as ``␊`` and ``␉``.
      ``\\r`` is always shown: it would let a line overwrite itself.
    - ``limit`` caps the result at that many characters, the last being ``…`` when cut. Only
      about ``limit`` characters of the input are read, so a 100 MB value costs nothing.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if limit is not None:
        if limit <= 0:
            return ""
        # Escaping only makes text longer, so characters past the limit can never show.
        text = text[: limit + 1]
    if text.isprintable():
        # Fast path (C speed): no printable character is in an unsafe category.
        result = text
    else:
        # Only runs of non-ASCII or control characters are looked at one by one.
        result = _NOT_PLAIN_ASCII.sub(_multiline_run if multiline else _one_line_run, text)
    if limit is not None and len(result) > limit:
        result = result[: limit - 1] + ELLIPSIS
    return result


class SafeFormatter(logging.Formatter):
    """A log formatter for terminals and log files: the message is one safe line (a job name or
    error message cannot forge a second log line or drive the terminal reading the log), and an
    attached traceback keeps its line breaks but nothing else unsafe."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = display_text(record.message)
        return super().formatMessage(record)

    def formatException(self, ei: Any) -> str:
        return display_text(super().formatException(ei), multiline=True)

    def formatStack(self, stack_info: str) -> str:
        return display_text(super().formatStack(stack_info), multiline=True)
