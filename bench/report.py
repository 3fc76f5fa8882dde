"""Turn the samples into bench/results/latest.md and latest.json.

Each scenario gets one table: per row the median, min and max over the rounds, and under it the
ratio jobdeck / best peer (for "lower is better" scenarios a ratio below 1 favours jobdeck).
Rows that failed in every round show the reason; partial failures are counted.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.peers import PeerRow
from bench.scenarios import Sample, Scenario, Sizes
from bench.stats import summary

JOBDECK = "jobdeck"
Rows = dict[str, list[Sample]]


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "efficiency":
        return f"{value:.2f}"
    if unit.startswith("ms") or unit == "commands/job":
        return f"{value:.1f}" if value < 100 else f"{value:,.0f}"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _is_jobdeck(label: str) -> bool:
    return label == JOBDECK or label.startswith(JOBDECK + "-")


def _ratio_line(scenario: Scenario, medians: dict[str, float], key: str = "") -> str:
    mine = {k: v for k, v in medians.items() if _is_jobdeck(k)}
    peers = {k: v for k, v in medians.items() if not _is_jobdeck(k)}
    if not peers:
        return "ratio jobdeck / best peer: no peer result"
    pick = max if scenario.higher_is_better else min
    best = pick(peers, key=peers.__getitem__)
    if not mine:
        return f"best peer: **{best}** ({_fmt(peers[best], scenario.unit)}); jobdeck: no result"
    parts = []
    for label, value in mine.items():
        ratio = value / peers[best] if peers[best] else float("inf")
        better = ratio > 1 if scenario.higher_is_better else ratio < 1
        verdict = "jobdeck ahead" if better else "peer ahead"
        parts.append(f"{label} / {best} = **{ratio:.2f}x** ({verdict})")
    what = f" ({key})" if key else ""
    return f"ratio jobdeck / best peer{what}: " + "; ".join(parts)


def _group(samples: Sequence[Sample]) -> dict[str, dict[str, list[Sample]]]:
    out: dict[str, dict[str, list[Sample]]] = defaultdict(lambda: defaultdict(list))
    for s in samples:
        out[s.scenario][s.row].append(s)
    return out


def _failures(runs: list[Sample]) -> str:
    failed = [r for r in runs if not r.ok]
    if not failed:
        return ""
    first = (failed[0].error or "").splitlines()[0][:160]
    return f"{len(failed)}/{len(runs)} failed: {first}"


def _standard_table(scenario: Scenario, rows: Rows, order: list[str]) -> list[str]:
    lines = [f"| peer | median {scenario.unit} | min | max | rounds | notes |",
             "|---|---:|---:|---:|---:|---|"]
    medians: dict[str, float] = {}
    for label in order:
        runs = rows.get(label)
        if not runs:
            continue
        values = [r.value for r in runs if r.ok and r.value is not None]
        note = _failures(runs)
        capped = [r for r in runs if r.ok and r.extra.get("capped")]
        if capped:
            done = statistics.median(r.extra["done"] for r in capped)
            note = (f"capped at {capped[0].extra['total_s']:.0f} s in {len(capped)} round(s) "
                    f"(~{done:,.0f} of {capped[0].extra['jobs']:,} done). {note}").strip()
        if scenario.key.startswith("drain"):
            steady = [r.extra["steady_jobs_per_s"] for r in runs
                      if r.ok and r.extra.get("steady_jobs_per_s")]
            boot = [r.extra["first_done_s"] for r in runs if r.ok]
            if steady:
                note = (f"after 1st job: {_fmt(statistics.median(steady), 'jobs/s')} jobs/s; "
                        f"1st job done at {statistics.median(boot):.2f} s. {note}").strip()
        if scenario.key == "sleep":
            incl = [r.extra["efficiency_incl_boot"] for r in runs if r.ok]
            if incl:
                note = f"incl. worker boot: {statistics.median(incl):.2f}. {note}".strip()
        if values:
            s = summary(values)
            medians[label] = s["median"]
            lines.append(f"| {label} | {_fmt(s['median'], scenario.unit)} | "
                         f"{_fmt(s['min'], scenario.unit)} | {_fmt(s['max'], scenario.unit)} | "
                         f"{len(values)} | {note} |")
        else:
            lines.append(f"| {label} | failed | - | - | 0 | {note} |")
    lines += ["", _ratio_line(scenario, medians)]
    return lines


def _latency_table(scenario: Scenario, rows: Rows, order: list[str]) -> list[str]:
    lines = ["| peer | p50 ms (min-max) | p95 ms (min-max) | p99 ms (min-max) | rounds | notes |",
             "|---|---:|---:|---:|---:|---|"]
    medians: dict[str, dict[str, float]] = defaultdict(dict)
    for label in order:
        runs = rows.get(label)
        if not runs:
            continue
        ok = [r for r in runs if r.ok]
        if not ok:
            lines.append(f"| {label} | failed | - | - | 0 | {_failures(runs)} |")
            continue
        cells = []
        for pct in ("p50_ms", "p95_ms", "p99_ms"):
            s = summary([r.extra[pct] for r in ok])
            medians[pct][label] = s["median"]
            cells.append(f"{s['median']:.1f} ({s['min']:.1f}-{s['max']:.1f})")
        lines.append(f"| {label} | {' | '.join(cells)} | {len(ok)} | {_failures(runs)} |")
    lines.append("")
    for pct in ("p50_ms", "p95_ms", "p99_ms"):
        lines.append("- " + _ratio_line(scenario, medians[pct], pct.removesuffix("_ms")))
    return lines


def _commands_table(scenario: Scenario, rows: Rows, order: list[str]) -> list[str]:
    lines = ["| peer | submit: sent | submit: executed | worker: sent | worker: executed | "
             "worker cold: sent | top worker commands (executed) |",
             "|---|---:|---:|---:|---:|---:|---|"]
    sums: dict[str, float] = {}
    for label in order:
        runs = rows.get(label)
        if not runs:
            continue
        ok = [r for r in runs if r.ok]
        if not ok:
            lines.append(f"| {label} | failed | | | | | {_failures(runs)} |")
            continue
        e = ok[0].extra
        n = e["jobs"]
        top = ", ".join(f"{k} {v / n:.1f}" for k, v in list(e["worker_commands"].items())[:5])
        sums[label] = ok[0].value or 0.0
        lines.append(f"| {label} | {e['submit_sent_per_job']:.2f} | {e['submit_total_per_job']:.2f}"
                     f" | {e['worker_sent_per_job']:.2f} | {e['worker_total_per_job']:.2f}"
                     f" | {e['cold_sent_per_job']:.2f} | {top} |")
    lines += ["", "Per job. *sent* = commands clients sent (MONITOR, pipelined ones counted "
              "singly, EVALSHA counts 1); *executed* = INFO commandstats, which also counts "
              "every command a Lua script runs. *Worker* is a warm worker; *worker cold* is "
              "the first 110 jobs of a fresh worker, start-up included.",
              "", _ratio_line(scenario, sums, "sent, submit + worker")]
    return lines


def _medians(runs: list[Sample], field: str | None = None) -> float | None:
    values = [r.extra[field] if field else r.value for r in runs if r.ok]
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


JOBDECK_SYNC = "jobdeck-sync"


def headline(samples: Sequence[Sample], scenario_list: list[Scenario],
             blocking: frozenset[str] = frozenset()) -> list[str]:
    """One line per scenario: jobdeck's median against the best peer's, for README's
    Performance table (copied from latest.md, so it always comes from a whole run). The
    synchronous client (jobdeck-sync) gets its own lines against the best blocking peer
    (`blocking`: the labels of rows with a blocking client), the clients a Flask or Django
    app would choose between."""
    grouped = _group(samples)
    lines = ["| scenario | jobdeck | best peer | jobdeck / best |", "|---|---:|---:|---:|"]
    for sc in scenario_list:
        rows = grouped.get(sc.key)
        if not rows:
            continue
        fields = ["p50_ms", "p99_ms"] if sc.key == "latency" else [None]
        for mine_label, against in ((JOBDECK, None), (JOBDECK_SYNC, blocking)):
            if mine_label not in rows:
                continue
            for field in fields:
                mine = _medians(rows[mine_label], field)
                peers = {label: _medians(runs, field) for label, runs in rows.items()
                         if not _is_jobdeck(label) and (against is None or label in against)}
                peers = {k: v for k, v in peers.items() if v is not None}
                if mine is None or not peers:
                    continue
                pick = max if sc.higher_is_better else min
                best = pick(peers, key=peers.__getitem__)
                unit = "ms" if field else sc.unit
                title = sc.title + (f" ({field.removesuffix('_ms')})" if field else "")
                if mine_label != JOBDECK:
                    title += f"; {mine_label} against blocking clients"
                ratio = mine / peers[best] if peers[best] else float("inf")
                lower = "" if sc.higher_is_better else " (lower is better)"
                lines.append(f"| {title}, {unit} | {_fmt(mine, unit)} | {best} "
                             f"{_fmt(peers[best], unit)} | {ratio:.2f}x{lower} |")
    return lines


def write(path_md: Path, path_json: Path, samples: Sequence[Sample], scenario_list: list[Scenario],
          rows: list[PeerRow], skipped: dict[str, str], sizes: Sizes, meta: dict[str, Any]) -> None:
    grouped = _group(samples)
    order = [r.label for r in rows]
    notes = {r.label: r.adapter.notes.get(r.variant, "") for r in rows}
    command = " ".join(["python bench/run.py", meta["argv"]]).strip()
    loads = [s.extra["load1"] for s in samples if "load1" in s.extra]
    load_line = (f"1-minute load average at the end of each sample: median "
                 f"{statistics.median(loads):.1f}, max {max(loads):.1f} (anything above "
                 f"{meta['cpus']} means other work was competing for the CPUs; per-sample "
                 f"values are in latest.json)." if loads else "")
    md = ["# jobdeck vs peers: benchmark results", "",
          f"Generated {meta['finished']} by `{command}` "
          f"({meta['rounds']} round(s), interleaved; {meta['wall_s'] / 60:.1f} min). "
          f"Machine: {meta['cpus']} CPUs, Python {meta['python']}, redis-server {meta['redis']}.",
          "One private redis-server for all peers; each run starts from an empty database. "
          "Median of the rounds, with min and max. See bench/README.md for what each scenario "
          "measures and the caveats.", "", load_line, "",
          "## Headline (README's Performance table)", "",
          *headline(samples, scenario_list,
                    frozenset(r.label for r in rows if not r.adapter.is_async)), ""]
    for sc in scenario_list:
        if sc.key not in grouped:
            continue
        md += [f"## {sc.key}: {sc.title}", ""]
        tables = {"latency": _latency_table, "commands": _commands_table}
        table = tables.get(sc.key, _standard_table)
        md += table(sc, grouped[sc.key], order)
        md.append("")
    versions = meta.get("versions", {})
    libs = ", ".join(f"{k.removeprefix('lib:')} {v}" for k, v in versions.items()
                     if k.startswith("lib:"))
    md += ["## How each row was driven", "", f"Shared libraries: {libs}." if libs else "",
           "", "| row | worker | versions |", "|---|---|---|"]
    for r in rows:
        md.append(f"| {r.label} | {notes[r.label]} | {versions.get(r.adapter.name, '')} |")
    if skipped:
        md += ["", "## Skipped", ""] + [f"- **{k}**: {v}" for k, v in skipped.items()]
    path_md.write_text("\n".join(md) + "\n")
    path_json.write_text(json.dumps({
        "meta": meta, "sizes": asdict(sizes), "skipped": skipped,
        "rows": [{"label": r.label, "peer": r.adapter.name, "variant": r.variant,
                  "worker": notes[r.label]} for r in rows],
        "samples": [asdict(s) for s in samples],
    }, indent=1, default=str) + "\n")


def render_from_json(path_json: Path, path_md: Path) -> None:
    """Rewrite latest.md from latest.json (after a report format change, no rerun needed)."""
    from bench.peers import select_rows
    from bench.scenarios import scenarios

    data = json.loads(path_json.read_text())
    sizes_raw = dict(data["sizes"])
    for name in ("drain_concurrency", "drain_rt_concurrency"):
        if name in sizes_raw:
            sizes_raw[name] = tuple(sizes_raw[name])
    sizes = Sizes(**sizes_raw)
    rows = select_rows([r["label"] for r in data["rows"]])
    samples = [Sample(**s) for s in data["samples"]]
    write(path_md, path_json, samples, scenarios(sizes), rows, data["skipped"], sizes,
          data["meta"])
