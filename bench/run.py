#!/usr/bin/env python3
"""The one command: `python bench/run.py [--peers ...] [--scenarios ...] [--rounds 3] [--quick]`.

It bootstraps bench/.venv-peers (with any python3), re-executes itself inside that venv, starts
two private redis-servers (the measured one and a control one for the completion probe), runs
every scenario for every peer row, round by round (interleaved, with the row order rotated each
round so no peer always runs first or last), and writes bench/results/latest.md and latest.json
(rewritten after every round, so an interrupted run still leaves its results).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

VERSION_DISTS = {
    "jobdeck": "jobdeck", "arq": "arq", "saq": "saq", "streaq": "streaq", "taskiq": "taskiq-redis",
    "rq": "rq", "dramatiq": "dramatiq", "celery": "celery",
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--peers", help="comma-separated peers or rows (arq, arq-tuned, jobdeck, ...); "
                   "default: all")
    p.add_argument("--scenarios", help="comma-separated: enqueue, drain, sleep, latency, commands "
                   "or exact keys (drain-c10, enqueue-bulk, ...); default: all")
    p.add_argument("--rounds", type=int, help="rounds per scenario (default 3, 1 with --quick)")
    p.add_argument("--quick", action="store_true", help="fewer jobs: a smoke test of the harness")
    p.add_argument("--timeout", type=float, help="per-run timeout in seconds (a run that is not "
                   "done by then is recorded as failed)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results",
                   help="directory for latest.md / latest.json (default bench/results)")
    p.add_argument("--render", action="store_true",
                   help="only rewrite latest.md from latest.json in --out (no benchmark)")
    p.add_argument("--no-bootstrap", action="store_true",
                   help="use the current interpreter as is (it must have the peers installed)")
    p.add_argument("--in-venv", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def reexec_in_venv(argv: list[str]) -> None:
    """Bootstrap, then replace this process with the venv's interpreter running bench.run."""
    from bench import bootstrap

    bootstrap.ensure_venv()
    python = str(bootstrap.venv_python())
    os.chdir(ROOT)
    os.execv(python, [python, "-m", "bench.run", "--in-venv", *argv])


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for peer, dist in VERSION_DISTS.items():
        try:
            out[peer] = f"{dist} {metadata.version(dist)}"
        except metadata.PackageNotFoundError:
            out[peer] = "not installed"
    for dist in ("redis", "hiredis", "coredis", "taskiq", "kombu"):
        with contextlib.suppress(metadata.PackageNotFoundError):  # keyed apart from peer rows
            out[f"lib:{dist}"] = metadata.version(dist)
    return out


def orchestrate(args: argparse.Namespace, argv: list[str]) -> int:
    from bench import report
    from bench.peers import select_rows
    from bench.redis_server import RedisServer
    from bench.scenarios import FULL, QUICK, Harness, Sizes, run_one, scenarios

    sizes: Sizes = QUICK if args.quick else FULL
    if args.timeout:
        sizes = Sizes(**{**sizes.__dict__, "run_timeout": args.timeout})
    rounds = args.rounds or (1 if args.quick else 3)
    bin_dir = str(Path(sys.executable).parent)

    rows = select_rows(args.peers.split(",") if args.peers else None)
    skipped: dict[str, str] = {}
    reasons: dict[str, str | None] = {}
    for row in rows:
        if row.adapter.name not in reasons:
            reasons[row.adapter.name] = row.adapter.unavailable_reason(bin_dir)
    for name, reason in reasons.items():
        if reason:
            skipped[name] = reason
            print(f"SKIP {name}: {reason}", flush=True)
    rows = [r for r in rows if not reasons[r.adapter.name]]

    all_scenarios = scenarios(sizes)
    if args.scenarios:
        wanted = {s.strip() for s in args.scenarios.split(",") if s.strip()}
        known = {s.key for s in all_scenarios} | {s.group for s in all_scenarios}
        if wanted - known:
            raise SystemExit(
                f"unknown scenario(s) {sorted(wanted - known)}; known: {sorted(known)}")
        all_scenarios = [s for s in all_scenarios if s.key in wanted or s.group in wanted]

    stamp = time.strftime("%Y%m%d-%H%M%S")
    log_dir = ROOT / "bench" / "results" / "raw" / stamp
    log_dir.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    queue_server, control_server = RedisServer("queue"), RedisServer("control")
    meta = {
        "argv": shlex.join(argv), "rounds": rounds, "quick": args.quick, "cpus": os.cpu_count(),
        "python": platform.python_version(), "redis": queue_server.version(),
        "platform": platform.platform(), "versions": _versions(), "logs": str(log_dir),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    samples = []
    t0 = time.monotonic()

    def flush(final: bool) -> None:
        meta["finished"] = time.strftime("%Y-%m-%d %H:%M:%S") + ("" if final else " (partial)")
        meta["wall_s"] = time.monotonic() - t0
        report.write(args.out / "latest.md", args.out / "latest.json", samples, all_scenarios,
                     rows, skipped, sizes, meta)

    print(f"rows: {', '.join(r.label for r in rows)}; "
          f"scenarios: {', '.join(s.key for s in all_scenarios)}; rounds: {rounds}; "
          f"logs: {log_dir}", flush=True)
    with queue_server, control_server:
        h = Harness(ROOT, queue_server.url, control_server.url, sizes, log_dir, bin_dir,
                    sys.executable)
        for round_no in range(rounds):
            shift = round_no % max(1, len(rows))
            order = rows[shift:] + rows[:shift]
            for sc in all_scenarios:
                if round_no > 0 and not sc.every_round:
                    continue
                for row in order:
                    if not sc.applies(row):
                        continue
                    sample = run_one(sc, h, row, round_no)
                    samples.append(sample)
                    if sample.ok and sample.value is not None:
                        shown = f"{sample.value:,.2f} {sc.unit}"
                    else:
                        shown = f"FAILED {(sample.error or '?').splitlines()[0][:200]}"
                    print(f"[round {round_no + 1}/{rounds} {time.monotonic() - t0:7.1f}s] "
                          f"{sc.key:<13} {row.label:<14} {shown} "
                          f"({sample.extra.get('wall_s', 0):.1f}s)", flush=True)
            flush(final=round_no == rounds - 1)
    minutes = (time.monotonic() - t0) / 60
    print(f"wrote {args.out / 'latest.md'} and latest.json in {minutes:.1f} min")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.render:
        from bench import report

        report.render_from_json(args.out / "latest.json", args.out / "latest.md")
        print(f"wrote {args.out / 'latest.md'}")
        return 0
    if not args.in_venv and not args.no_bootstrap:
        reexec_in_venv(argv)  # does not return
    clean = [a for a in argv if a != "--in-venv"]
    return orchestrate(args, clean)


if __name__ == "__main__":
    raise SystemExit(main())
