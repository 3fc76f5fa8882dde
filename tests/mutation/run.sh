#!/usr/bin/env bash
# Mutation testing of jobdeck's pure modules with cosmic-ray (not part of CI: it takes tens of
# minutes). Each mutant (a comparison's boundary moved, a condition negated, an operator or a
# constant changed, ...) is applied to a private copy of the tree and the fast in-process
# tests of that module are run against it; a mutant they do not notice "survives". Prints
# the survivors and the score per module.
#
#   pip install "cosmic-ray>=8.7"                  # once (or: pip install -e ".[mutation]")
#   tests/mutation/run.sh                          # every pure module
#   tests/mutation/run.sh core/retry.py            # one or a few
#   MUTATION_SAMPLE=40 tests/mutation/run.sh       # at most 40 random mutants per module
#   MUTATION_KEEP=/tmp/m tests/mutation/run.sh     # also keep each module's results there
#
# The last exhaustive figures and the surviving mutants judged equivalent: README.md here.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
python="${PYTHON:-$(command -v python)}"
if [ -z "${PYTHON:-}" ] && [ -x "$root/.venv/bin/python" ]; then python="$root/.venv/bin/python"; fi
core_tests="tests/test_pure.py tests/test_submission.py"
console_tests="tests/console/test_units.py tests/console/test_format.py"
console_tests+=" tests/console/test_reducer_edges.py tests/console/test_reducer_windows.py"
modules=("$@")
if [ ${#modules[@]} -eq 0 ]; then
    modules=(core/codec.py core/retry.py core/models.py core/keys.py core/metrics.py
             console/reducer.py console/paging.py console/format.py)
fi

# A copy of the working tree: cosmic-ray edits files in place, and the checkout must never
# hold a mutant. The copy is imported as `jobdeck` through a PYTHONPATH entry that maps the
# package names onto its folders (as pyproject's package-dir does for the install).
work="$(mktemp -d "${TMPDIR:-/tmp}/jobdeck-mutation.XXXXXX")"
trap 'rm -rf "$work"' EXIT
(cd "$root" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) | tar -xf - -C "$work"
mkdir -p "$work/_pkg/jobdeck"
for surface in core console web; do ln -s "../../$surface" "$work/_pkg/jobdeck/$surface"; done
export PYTHONPATH="$work/_pkg:$work"
# Only the plugins these tests use: autoloading every installed one (the snapshot plugin
# imports Textual) costs seconds per mutant, most of the run.
export PYTEST_DISABLE_PLUGIN_AUTOLOAD=1
pytest_args="-x -q -p no:cacheprovider -p asyncio -p timeout -o timeout=20"  # a looping mutant fails fast
cd "$work"
"$python" -c "import jobdeck.core.retry as r, sys; assert r.__file__.startswith('$work'), r.__file__"

for module in "${modules[@]}"; do
    name="$(echo "$module" | tr '/.' '__')"
    case "$module" in console/*) tests="$console_tests" ;; *) tests="$core_tests" ;; esac
    cat > "$name.toml" <<TOML
[cosmic-ray]
module-path = ["$module"]
timeout = 60.0
excluded-modules = []
test-command = "$python -m pytest $pytest_args $tests"

[cosmic-ray.distributor]
name = "local"
TOML
    eval "$python -m pytest $pytest_args $tests" >/dev/null  # green before
    "$python" -m cosmic_ray.cli init "$name.toml" "$name.sqlite"
    # Keep the operators that stand for a real slip (as mutmut's set does): a comparison's
    # boundary or sense, and/or, not, True/False, + and -, * and /, a constant, a loop run
    # zero times, a swallowed exception. The full cross product of operators (x >> y for
    # x - y, ...) would triple the run and mostly duplicate these.
    "$python" - "$name.sqlite" <<'PY'
import re, sqlite3, sys
keep = re.compile(
    r"core/(NumberReplacer|AddNot|ReplaceOrWithAnd|ReplaceAndWithOr|ReplaceTrueWithFalse"
    r"|ReplaceFalseWithTrue|ReplaceUnaryOperator_Delete_Not|ZeroIterationForLoop"
    r"|ExceptionReplacer|ReplaceBreakWithContinue|ReplaceContinueWithBreak"
    r"|ReplaceComparisonOperator_(Eq_NotEq|NotEq_Eq|Lt_LtE|LtE_Lt|Gt_GtE|GtE_Gt|Is_IsNot"
    r"|IsNot_Is|In_NotIn|NotIn_In)"
    r"|ReplaceBinaryOperator_(Add_Sub|Sub_Add|Mul_Div|Div_Mul|FloorDiv_Mul|Mod_FloorDiv"
    r"|Pow_Mul))$"
)
db = sqlite3.connect(sys.argv[1])
drop = [j for j, op in db.execute("SELECT job_id, operator_name FROM mutation_specs")
        if not keep.match(op)]
import os, random
dropped = set(drop)
rest = [j for (j,) in db.execute("SELECT job_id FROM mutation_specs") if j not in dropped]
sample = int(os.environ.get("MUTATION_SAMPLE") or 0)
if 0 < sample < len(rest):
    random.seed(16)
    chosen = set(random.sample(sorted(rest), sample))
    drop += [j for j in rest if j not in chosen]
db.executemany("DELETE FROM mutation_specs WHERE job_id = ?", [(j,) for j in drop])
db.executemany("DELETE FROM work_items WHERE job_id = ?", [(j,) for j in drop])
db.commit()
PY
    "$python" -m cosmic_ray.cli exec "$name.toml" "$name.sqlite"
    if [ -n "${MUTATION_KEEP:-}" ]; then mkdir -p "$MUTATION_KEEP" && cp "$name.sqlite" "$MUTATION_KEEP/"; fi
done

"$python" - *.sqlite <<'PY'
import sqlite3, sys
total = killed = 0
print("--- survivors (file:line operator) ---")
scores = []
for path in sys.argv[1:]:
    rows = sqlite3.connect(path).execute(
        "SELECT m.module_path, m.start_pos_row, m.operator_name, r.test_outcome "
        "FROM mutation_specs m JOIN work_results r ON m.job_id = r.job_id "
        "WHERE r.test_outcome IS NOT NULL ORDER BY m.start_pos_row"
    ).fetchall()
    dead = sum(1 for r in rows if r[3] != "SURVIVED")
    for module, line, op, outcome in rows:
        if outcome == "SURVIVED":
            print(f"{module}:{line}  {op.removeprefix('core/')}")
    if rows:
        scores.append(f"{rows[0][0]:22} {dead:4}/{len(rows):<4} {100 * dead / len(rows):5.1f}%")
    total, killed = total + len(rows), killed + dead
print("--- killed per module ---", *scores, sep="\n")
print(f"mutation score: {killed}/{total} killed = {100 * killed / max(total, 1):.1f}%")
PY
