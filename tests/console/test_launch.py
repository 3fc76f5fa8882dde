"""`jobdeck console` / `jobdeck demo` entry points: the failures an operator meets first."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from jobdeck.console.launch import run_console
from jobdeck.core import JobService
from jobdeck.core.cli import main

from ..redis_server import free_port


def test_an_unreachable_redis_is_one_line_without_the_password(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"redis://admin:s3cret-pw@127.0.0.1:{free_port()}/0"
    assert run_console(JobService(url, queue="q"), read_only=True) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "cannot reach redis://admin:***@127.0.0.1" in err
    assert err.count("cannot reach") == 1, err  # it said it twice: "cannot reach X: cannot reach X"
    assert "jobdeck demo" in err
    assert "s3cret-pw" not in err


def test_the_cli_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOBDECK_URL", raising=False)
    result = CliRunner().invoke(main, ["console"])
    assert result.exit_code == 2
    assert "--url" in result.output and "jobdeck demo" in result.output


def test_a_memory_queue_without_an_app_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """`jobdeck console --url memory://` opened an empty queue of its own and showed it as if
    it were a queue, where `jobdeck stats` and every other reading command refuse."""
    monkeypatch.delenv("JOBDECK_URL", raising=False)
    for argv in (["console", "--url", "memory://"], ["console", "--web", "--url", "memory://x"]):
        result = CliRunner().invoke(main, argv)
        assert result.exit_code == 2, (argv, result.output)
        assert "would only ever see an empty queue" in result.output
        assert "jobdeck demo" in result.output


def test_jobdeck_url_stands_in_for_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOBDECK_URL", f"redis://:pw@127.0.0.1:{free_port()}/0")
    result = CliRunner().invoke(main, ["console", "--read-only"])
    assert result.exit_code == 1
    assert "cannot reach redis://***@127.0.0.1" in result.output
    assert "pw@" not in result.output


def test_workers_and_the_cli_never_load_textual() -> None:
    """The console is imported lazily: worker hosts do not need (or pay for) Textual."""
    code = (
        "import sys, jobdeck.core, jobdeck.core.cli; "
        "sys.exit(1 if any(m == 'textual' or m.startswith('textual.') for m in sys.modules) else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


@pytest.mark.parametrize(
    "argv",
    [
        ["console", "--web"],
        ["console", "--web", "--url", "redis://127.0.0.1:1/0", "--app", "tests.apps.tasks:service"],
    ],
)
def test_the_web_console_needs_a_url_and_no_app(
    monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    monkeypatch.delenv("JOBDECK_URL", raising=False)
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 2
    assert "--web needs --url" in result.output and "Traceback" not in result.output


def test_a_demo_on_a_bad_url_is_one_line_without_the_password() -> None:
    result = CliRunner().invoke(main, ["demo", "--url", "redis://:pw@127.0.0.1:notaport/0"])
    assert result.exit_code == 2
    assert result.output.startswith("jobdeck: error: ") and result.output.count("\n") == 1
    assert "pw@" not in result.output and "Traceback" not in result.output
