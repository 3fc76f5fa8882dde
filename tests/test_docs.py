"""The docs hold: every link and anchor resolves, every `jobdeck` command line names commands
and options that exist, the README stays a first-hour page and its test command is the one
CI runs, and its first example is examples/quickstart.py as it is."""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

import click
import pytest

from jobdeck.core.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
_LINK = re.compile(r"\]\(([^)\s]+)\)|<img src=\"([^\"]+)\"")


def _prose(text: str) -> str:
    """The page without its code blocks (a `](x)` inside code is not a link)."""
    return _FENCE.sub("", text)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {_slug(m.group(1)) for m in re.finditer(r"^#+ (.+)$", _prose(path.read_text()), re.M)}


def test_pages_exist() -> None:
    names = {p.name for p in PAGES}
    assert {"README.md", "CONTRIBUTING.md", "index.md", "guide.md", "operations.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(page: Path) -> None:
    broken = []
    for match in _LINK.finditer(_prose(page.read_text())):
        target = match.group(1) or match.group(2)
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        path_part, _, anchor = target.partition("#")
        dest = (page.parent / path_part).resolve() if path_part else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            broken.append(f"{target}: no heading with that anchor")
    assert broken == [], f"{page.name}: {broken}"


def _command_lines(text: str) -> list[str]:
    """Every `jobdeck ...` invocation in the shell blocks, continuation lines joined."""
    lines = []
    for lang, body in _FENCE.findall(text):
        if lang not in ("bash", "sh", ""):
            continue
        joined = re.sub(r"\\\n\s*", " ", body)
        for line in joined.splitlines():
            line = line.split(" #", 1)[0]
            for part in re.split(r"&&|;|\|", line):
                part = part.strip()
                if part.startswith("jobdeck "):
                    lines.append(part)
    return lines


def _check_command(line: str) -> list[str]:
    words = shlex.split(line.replace("[", " ").replace("]", " "))[1:]
    command: click.Command = main
    ctx = click.Context(main)
    problems = []
    takes_value = False
    for word in words:
        if takes_value or word == "...":
            takes_value = False
            continue
        if word.startswith("-"):
            name, _, value = word.partition("=")
            options = {o: p for p in command.params for o in (*p.opts, *p.secondary_opts)}
            param = options.get(name)
            if param is None and name not in ("-h", "--help"):
                problems.append(f"{line!r}: {command.name} has no option {name}")
            takes_value = isinstance(param, click.Option) and not param.is_flag and not value
        elif isinstance(command, click.Group):
            sub = command.get_command(ctx, word)
            if sub is None:
                problems.append(f"{line!r}: {command.name} has no command {word!r}")
                break
            command = sub
    return problems


def test_every_jobdeck_command_line_in_the_docs_exists() -> None:
    lines = [line for page in PAGES for line in _command_lines(page.read_text())]
    assert len(lines) >= 20
    problems = [problem for line in lines for problem in _check_command(line)]
    assert problems == []


def test_the_command_check_catches_a_stale_option() -> None:
    assert _check_command("jobdeck worker app:service --no-such-flag 3")
    assert _check_command("jobdeck no-such-command")
    assert not _check_command("jobdeck worker app:service -c 4 --queue a=2")


def test_readme_is_a_first_hour_page() -> None:
    assert len(README.read_text().splitlines()) <= 300


def _readme_test_command() -> str:
    """The pytest line of the README's Tests section."""
    section = README.read_text().split("\n## Tests\n", 1)[1].split("\n## ", 1)[0]
    [block] = [body for lang, body in _FENCE.findall(section) if lang == "bash"]
    [command] = [line for line in block.splitlines() if "pytest" in line]
    return command.strip()


def test_ci_runs_the_readme_test_command() -> None:
    command = _readme_test_command()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert command in [line.strip() for line in ci], f"{command!r} is not a line of .ci/run"
    # and the headline at the top of the README runs the same suite
    assert command in README.read_text().split("\n## ", 1)[0]


def test_the_readmes_first_example_is_examples_quickstart() -> None:
    """The README shows examples/quickstart.py as it is (tests/test_quickstart.py runs it)."""
    [first, *_] = [body for lang, body in _FENCE.findall(README.read_text()) if lang == "python"]
    source = (ROOT / "examples" / "quickstart.py").read_text()
    docstring_end = ast.parse(source).body[0].end_lineno
    code = "\n".join(source.splitlines()[docstring_end:]).strip() + "\n"
    assert first == code
