"""display_text: untrusted text made safe to show (issue 9, item 1)."""

from __future__ import annotations

import pytest

from jobdeck.core.text import ELLIPSIS, SafeFormatter, display_text


def _no_unsafe(text: str) -> None:
    import unicodedata

    for char in text:
        assert unicodedata.category(char) not in {"Cc", "Cf", "Cs", "Zl", "Zp"}, repr(char)


def test_plain_text_is_unchanged() -> None:
    assert (
        display_text("resize a.png → 640px, ünïcode 漢字 🙂")
        == "resize a.png → 640px, ünïcode 漢字 🙂"
    )


def test_markup_is_left_as_literal_text() -> None:
    # Escaping markup is the renderer's business (never parse data); the text is kept verbatim.
    assert display_text("[bold]x[/] [@click=app.quit]") == "[bold]x[/] [@click=app.quit]"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[2J", "␛[2J"),
        ("\x1b]52;c;aGk=\x07", "␛]52;c;aGk=␇"),
        ("\x1b]2;pwned\x1b\\", "␛]2;pwned␛\\"),
        ("a\x00b\x7fc", "a␀b␡c"),
        ("\x9b31m", "<U+009B>31m"),
        ("\x9d0;t\x9c", "<U+009D>0;t<U+009C>"),
        ("abc\u202edcba", "abc<U+202E>dcba"),
        ("a\u2066b\u2069", "a<U+2066>b<U+2069>"),
        ("ad\u200bmin", "ad<U+200B>min"),
        ("\ufeffx\u00ad", "<U+FEFF>x<U+00AD>"),
        ("bad\udc80name", "bad<U+DC80>name"),
        ("line\u2028sep", "line<U+2028>sep"),
        ("over\rwrite", "over␍write"),
        ("a\nb\tc", "a␊b␉c"),
    ],
)
def test_unsafe_characters_become_visible(raw: str, shown: str) -> None:
    assert display_text(raw) == shown
    _no_unsafe(display_text(raw))


def test_multiline_keeps_line_breaks_only() -> None:
    text = 'Traceback:\n\tFile "x\x1b[31m"\r\n'
    assert display_text(text, multiline=True) == 'Traceback:\n    File "x␛[31m"␍\n'


def test_result_is_valid_utf8() -> None:
    display_text("x\ud800y\udfff").encode("utf-8")


def test_non_strings() -> None:
    assert display_text(None) == ""
    assert display_text(42) == "42"
    assert display_text(["a\x1b"]) == "['a\\x1b']"  # repr already escapes


def test_limit_cuts_with_ellipsis() -> None:
    assert display_text("abcdef", limit=4) == "abc" + ELLIPSIS
    assert display_text("abcd", limit=4) == "abcd"
    assert display_text("abc", limit=0) == ""
    assert len(display_text("\x1b" * 50, limit=10)) == 10


def test_limit_reads_only_a_prefix_of_a_huge_value() -> None:
    huge = "x" * 50_000_000 + "\x1b"
    assert display_text(huge, limit=80) == "x" * 79 + ELLIPSIS


def test_log_lines_are_one_safe_line_with_a_safe_traceback() -> None:
    import logging

    formatter = SafeFormatter("%(levelname)s %(message)s")
    try:
        raise RuntimeError("boom \x1b]52;c;eA==\x07")
    except RuntimeError:
        import sys

        record = logging.LogRecord(
            "jobdeck",
            logging.ERROR,
            __file__,
            1,
            "job %s failed",
            ("x\n\x1b[2Jforged",),
            sys.exc_info(),
        )
    text = formatter.format(record)
    first, *rest = text.split("\n")
    assert first == "ERROR job x␊␛[2Jforged failed"
    assert rest and rest[-1] == "RuntimeError: boom ␛]52;c;eA==␇"
    assert "\x1b" not in text and "\x07" not in text
