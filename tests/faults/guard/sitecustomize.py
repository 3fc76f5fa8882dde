"""Loaded first by every Python process of the no-pickle test (it is put on PYTHONPATH).

Records each import of a module that can deserialize code (pickle and its kin, marshal):
which module, which file imported it, and the stack; writes them as JSON lines to
`$JOBDECK_IMPORT_REPORT.<pid>` at exit. `marshal` is built in and preloaded for the import
system's own use, so it is taken out of `sys.modules` here: an `import marshal` anywhere
later goes through the finders and shows. Nothing is refused: behaviour is unchanged.
"""

import atexit
import json
import os
import sys
import traceback

WATCHED = {"pickle", "_pickle", "cPickle", "marshal", "dill", "cloudpickle", "jsonpickle", "shelve"}
_hits = [
    {"module": m, "importer": "(preloaded)", "stack": ""}
    for m in sorted(WATCHED)
    if m in sys.modules and m != "marshal"
]


class _Recorder:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in WATCHED:
            frame = sys._getframe(1)
            while frame is not None and frame.f_code.co_filename.startswith("<frozen"):
                frame = frame.f_back
            _hits.append(
                {
                    "module": name,
                    "importer": frame.f_code.co_filename if frame is not None else "?",
                    "stack": "".join(traceback.format_stack(limit=12)),
                }
            )
        return None


sys.modules.pop("marshal", None)
sys.meta_path.insert(0, _Recorder())


def _report():
    path = os.environ.get("JOBDECK_IMPORT_REPORT")
    if path:
        with open(f"{path}.{os.getpid()}", "w") as out:
            out.write("".join(json.dumps(hit) + "\n" for hit in _hits))


atexit.register(_report)
