"""What `jobdeck.core` loads: never Textual (worker hosts do not install it), never pickle.

Each check runs in a fresh interpreter, since this test process has long imported everything.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "core"

pytestmark = pytest.mark.timeout(60)


def python(fragments: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run the fragments (each dedented on its own) as one script in a fresh interpreter."""
    code = "\n".join(textwrap.dedent(fragment) for fragment in fragments)
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=45,
    )


# Imports every module of jobdeck.core (but __main__, which would run the CLI).
IMPORT_ALL = """
import importlib, pkgutil
import jobdeck.core
for info in pkgutil.walk_packages(jobdeck.core.__path__, "jobdeck.core."):
    if not info.name.endswith("__main__"):
        importlib.import_module(info.name)
"""

RUN_A_JOB = """
import asyncio

from jobdeck.core import JobService

async def run_a_job(url, prefix):
    async with JobService(url, queue="imports", prefix=prefix) as service:
        seen = []
        service.subscribe(None, seen.append)
        service.register_handler("add", lambda a, b: a + b)
        await service.start_workers(2)
        job_id = await service.submit_job("add", (2, 3), max_retries=1, timeout=5)
        for _ in range(500):
            job = await service.get_job(job_id)
            if job.status.is_terminal:
                break
            await asyncio.sleep(0.01)
        assert job.result == 5, job
        await service.get_metrics()
        await service.list_jobs("completed")
        await service.list_workers()
"""


def test_core_runs_with_textual_unimportable() -> None:
    done = python(
        [
            """
        import importlib.abc, sys

        class BlockTextual(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name == "textual" or name.startswith("textual."):
                    raise ImportError(f"{name} is blocked in this test")
                return None

        sys.meta_path.insert(0, BlockTextual())
        try:
            import textual
        except ImportError:
            pass
        else:
            raise SystemExit("the blocker does not block")
        """,
            IMPORT_ALL,
            RUN_A_JOB,
            """
        asyncio.run(run_a_job("memory://no-textual", "imports"))

        from click.testing import CliRunner
        from jobdeck.core.cli import main
        result = CliRunner().invoke(main, ["stats", "--url", "memory://no-textual"])
        assert result.exit_code == 2, result.output  # refused: a queue of its own
        assert "would only ever see an empty queue" in result.output, result.output
        result = CliRunner().invoke(main, ["job", "--help"])
        assert result.exit_code == 0 and "wait" in result.output, result.output

        loaded = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))
        assert not loaded, loaded
        print("ok")
        """,
        ]
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_no_core_module_imports_textual() -> None:
    done = python(
        [
            IMPORT_ALL,
            """
        import json, sys
        print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("textual", "rich"))))
        """,
        ]
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def _imports(tree: ast.AST, top_level_only: bool) -> list[tuple[int, str]]:
    nodes = tree.body if top_level_only and isinstance(tree, ast.Module) else ast.walk(tree)
    found: list[tuple[int, str]] = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def test_core_sources_import_neither_textual_nor_pickle() -> None:
    """The same, read from the source: no `import pickle` anywhere in core, and Textual (or
    the console) only inside a function that runs the console."""
    sources = sorted(CORE.rglob("*.py"))
    assert len(sources) > 10
    problems = []
    for path in sources:
        tree = ast.parse(path.read_text(), str(path))
        for line, name in _imports(tree, top_level_only=False):
            if name.split(".")[0] in ("pickle", "_pickle", "marshal", "shelve", "dill"):
                problems.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
            if name.split(".")[0] == "textual":
                problems.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
        for line, name in _imports(tree, top_level_only=True):
            if name.startswith("jobdeck.console"):
                problems.append(f"{path.relative_to(ROOT)}:{line} imports {name} at load time")
    assert problems == []


PICKLE_WATCH = """
import builtins, importlib, json, sys

WATCHED = {"pickle", "_pickle", "marshal", "shelve", "dill", "cloudpickle", "jsonpickle"}
imports = []  # (module imported, module that imported it)

real_import = builtins.__import__
def watching_import(name, globals=None, locals=None, fromlist=(), level=0):
    if level == 0 and name.split(".")[0] in WATCHED:
        imports.append((name, (globals or {}).get("__name__", "?")))
    return real_import(name, globals, locals, fromlist, level)
builtins.__import__ = watching_import

real_import_module = importlib.import_module
def watching_import_module(name, package=None):
    if name.split(".")[0] in WATCHED:
        imports.append((name, sys._getframe(1).f_globals.get("__name__", "?")))
    return real_import_module(name, package)
importlib.import_module = watching_import_module

# The watch sees an import made from inside jobdeck, even of a module already loaded
# (marshal always is: importlib itself uses it), in either form of the statement.
exec("import marshal\\nfrom marshal import loads", {"__name__": "jobdeck.core.probe"})
assert imports == [("marshal", "jobdeck.core.probe")] * 2, imports
imports.clear()
"""


def test_jobdeck_never_imports_pickle_or_marshal(redis_url: str, prefix: str) -> None:
    """Jobs travel as JSON. The standard library or redis-py may load pickle for their own
    reasons; what must never happen is jobdeck's own code importing a pickle-family module,
    while importing everything and running jobs on both engines."""
    done = python(
        [
            PICKLE_WATCH,
            IMPORT_ALL,
            RUN_A_JOB,
            """
            asyncio.run(run_a_job("memory://no-pickle", "imports"))
            asyncio.run(run_a_job(sys.argv[1], sys.argv[2]))
            print(json.dumps({"imports": imports, "pickle_loaded": "pickle" in sys.modules}))
            """,
        ],
        redis_url,
        prefix,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    ours = [(name, by) for name, by in report["imports"] if by.split(".")[0] == "jobdeck"]
    assert ours == [], f"jobdeck imported {ours}"
