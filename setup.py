"""What the wheel holds, found on disk rather than listed by hand.

Everything else is in pyproject.toml. The folders core/, console/ and web/ install as
jobdeck.core, jobdeck.console and jobdeck.web (`package-dir` there); every folder below them
with an `__init__.py` is a sub-package, and every other file in a package's folder (Lua
scripts, the console's .tcss, the dashboard's static files, py.typed) ships with it. A
sub-package or a data file added later is in the wheel without a change here;
tests/test_packaging.py builds the wheel and compares it with the folders.
"""

from __future__ import annotations

import os
from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).resolve().parent
SURFACES = ("core", "console", "web")
SKIPPED = ("__pycache__",)


def _packages() -> dict[str, Path]:
    """jobdeck.<dotted path> -> its folder, for every folder holding an __init__.py."""
    found = {}
    for surface in SURFACES:
        for folder, dirs, files in os.walk(ROOT / surface):
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED and not d.startswith("."))
            if "__init__.py" in files:
                relative = Path(folder).relative_to(ROOT)
                found["jobdeck." + ".".join(relative.parts)] = Path(folder)
    return found


def _data(packages: dict[str, Path]) -> dict[str, list[str]]:
    """Each package's files that are not modules, down to (not into) its sub-packages."""
    homes = {folder: name for name, folder in packages.items()}
    data: dict[str, list[str]] = {}
    for name, folder in packages.items():
        for here, dirs, files in os.walk(folder):
            inner = Path(here)
            if inner != folder and inner in homes:
                dirs[:] = []  # a sub-package: its own files are its own
                continue
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED and not d.startswith("."))
            for file in sorted(files):
                if not file.endswith((".py", ".pyc")) and not file.startswith("."):
                    data.setdefault(name, []).append(str((inner / file).relative_to(folder)))
    return data


PACKAGES = _packages()
setup(packages=sorted(PACKAGES), package_data=_data(PACKAGES))
