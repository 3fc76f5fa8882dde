"""What a user installs is what the checkout holds: the wheel carries every module and data
file of core/, console/ and web/ (Lua scripts, the console's .tcss, the dashboard's and the
API docs' static files, py.typed) under jobdeck/, nothing else at the top of site-packages,
and every module imports from it. The folders load only under their package names."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SURFACES = ("core", "console", "web")


def _ignored(name: str) -> bool:
    return name == "__pycache__" or name.startswith(".") or name.endswith(".pyc")


def on_disk(root: Path) -> set[str]:
    """Every file under the three folders of `root`, as the wheel should name it."""
    found = set()
    for surface in SURFACES:
        for folder, dirs, files in os.walk(root / surface):
            dirs[:] = [d for d in dirs if not _ignored(d)]
            relative = Path(folder).relative_to(root)
            found |= {f"jobdeck/{relative.as_posix()}/{f}" for f in files if not _ignored(f)}
    return found


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the checkout (a build writes build/ and egg-info beside its sources), with
    a sub-package and a data file nobody listed anywhere, as a lane adds them."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for surface in SURFACES:
        skip = shutil.ignore_patterns("__pycache__")
        shutil.copytree(ROOT / surface, source / surface, ignore=skip)
    (source / "core" / "backend" / "newly_added").mkdir()
    (source / "core" / "backend" / "newly_added" / "__init__.py").write_text("")
    (source / "core" / "backend" / "newly_added" / "step.lua").write_text("return 1\n")
    return source


@pytest.fixture(scope="module")
def wheel(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from `source` with the environment's setuptools: no download."""
    import setuptools

    if int(setuptools.__version__.split(".")[0]) < 77:
        pytest.skip(f"setuptools {setuptools.__version__} < 77: pip install -e '.[test]'")
    work = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(work / "dist"), str(source)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    [built] = (work / "dist").glob("jobdeck-*.whl")
    return built


@pytest.mark.slow
def test_the_wheel_holds_every_file_of_the_folders_and_nothing_else(
    wheel: Path, source: Path
) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"jobdeck"}
    shipped = {name for name in names if name.startswith("jobdeck/")}
    expected = on_disk(source)
    assert "jobdeck/core/backend/newly_added/step.lua" in expected
    assert any(f.endswith(".lua") for f in expected) and any(f.endswith(".tcss") for f in expected)
    assert shipped - expected == set(), "in the wheel, not in the folders"
    assert expected - shipped == set(), "in the folders, not in the wheel"


@pytest.mark.slow
def test_every_module_imports_from_the_wheel(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    modules = sorted(
        name[: -len(".py")].replace("/", ".").removesuffix(".__init__")
        for name in zipfile.ZipFile(wheel).namelist()
        if name.endswith(".py") and not name.endswith("__main__.py")
    )
    code = (
        "import importlib, sys\n"
        "for name in sys.argv[1:]:\n"
        "    module = importlib.import_module(name)\n"
        f"    assert module.__file__.startswith({str(site)!r}), module.__file__\n"
        "print(len(sys.argv) - 1)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *modules],
        cwd=site,  # not the checkout, whose jobdeck/ would be found first
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == len(modules) > 100


@pytest.mark.parametrize("surface", SURFACES)
def test_a_folder_does_not_load_under_its_own_name(surface: str) -> None:
    """`import core` from the checkout would load core/service.py a second time, as
    core.service beside jobdeck.core.service: two JobService classes in one process."""
    done = subprocess.run(
        [sys.executable, "-c", f"import {surface}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 1
    assert f"this folder is the package jobdeck.{surface}; import it by that name" in done.stderr
