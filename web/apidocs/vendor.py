"""Refresh the API documentation pages' third-party files from the npm registry.

    python web/apidocs/vendor.py        # needs `npm`; run when upgrading, commit the result

The pages at /docs and /redoc must work offline and load nothing from another host, so
Swagger UI (swagger-ui-dist, Apache-2.0, SmartBear) and Redoc (redoc, MIT, Redocly) are
shipped inside the package, in `static/vendor/`, with their licence files. This script
fetches the pinned versions with `npm pack` (which checks each tarball against the
registry's integrity hash), checks that hash against the one pinned here too, and copies
only the files the pages use. Nothing runs it at install or at run time.

One edit is made: Redoc's sidebar shows its maker's logo from their CDN (the only request
either bundle makes to another host); its address is replaced by an empty `data:` URL, so
the image fails to load and Redoc hides it, as it does offline.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET = HERE / "static" / "vendor"

# (file shipped, text, replacement): each must occur exactly once
EDITS = [("redoc.standalone.js", b'"https://cdn.redoc.ly/redoc/logo-mini.svg"', b'"data:,"')]

# name, version, the registry's sha512 integrity, {file in the tarball: name shipped}
PACKAGES = [
    (
        "swagger-ui-dist",
        "5.36.0",
        "sha512-Lt6/Kb0gXmLdiabLhvso4VdJP9V7qJWB0zh0gzeXUV3+CMOTzMmvpJRSXN7EAjfwixwmoi9ezDbLHiexC7lA9A==",
        {
            "swagger-ui-bundle.js": "swagger-ui-bundle.js",
            "swagger-ui-bundle.js.LICENSE.txt": "swagger-ui-bundle.js.LICENSE.txt",
            "swagger-ui.css": "swagger-ui.css",
            "LICENSE": "swagger-ui.LICENSE.txt",
            "NOTICE": "swagger-ui.NOTICE.txt",
        },
    ),
    (
        "redoc",
        "2.5.4",
        "sha512-M6jWhG1qoBnH6TFmzJnstyCZ87HmOY/UzDm78mHiYihEdlV/YcS9ogOo1NlElnJMeLsyxHFe2yFc4sNjHTrABQ==",
        {
            "bundles/redoc.standalone.js": "redoc.standalone.js",
            "bundles/redoc.standalone.js.LICENSE.txt": "redoc.standalone.js.LICENSE.txt",
            "LICENSE": "redoc.LICENSE.txt",
        },
    ),
]


def _integrity(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def main() -> None:
    TARGET.mkdir(parents=True, exist_ok=True)
    versions = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, version, integrity, files in PACKAGES:
            subprocess.run(
                ["npm", "pack", f"{name}@{version}", "--silent"],
                cwd=tmp,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            tarball = Path(tmp) / f"{name}-{version}.tgz"
            if _integrity(tarball) != integrity:
                raise SystemExit(f"{name}@{version}: integrity differs from the pinned one")
            with tarfile.open(tarball) as archive:
                for inner, shipped in files.items():
                    member = archive.extractfile(f"package/{inner}")
                    assert member is not None, inner
                    with member, (TARGET / shipped).open("wb") as out:
                        shutil.copyfileobj(member, out)
            versions.append(f"{name} {version} {integrity}")
    for shipped, text, replacement in EDITS:
        path = TARGET / shipped
        data = path.read_bytes()
        if data.count(text) != 1:
            raise SystemExit(f"{shipped}: expected {text!r} once, found {data.count(text)}")
        path.write_bytes(data.replace(text, replacement))
        versions.append(f"edited {shipped}: {text.decode()} -> {replacement.decode()}")
    (TARGET / "VERSIONS.txt").write_text("\n".join(versions) + "\n")
    print("\n".join(versions))


if __name__ == "__main__":
    main()
