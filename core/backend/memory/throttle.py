"""The memory engine's limits and the jobs they hold, as `_lib.lua`'s `flow()` keeps them in
Redis: the limits themselves (`limits`), what runs under each key (`lrun:<key>`, `linuse`),
the starts a rate counts (`lrate:<key>`), and the pending jobs a full key holds (`hq:<key>`,
by when the key may have room in `held`; `throttled` per limit).

`Throttle`'s methods are the Lua helpers of the same names. `Lanes` (`lanes.py`) holds one,
as the other side lanes of pending jobs hold theirs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .store import Record, _ZSet

__all__ = ["NEVER", "Limit", "Throttle"]

_FALLBACK_MS = 60_000  # a full key is looked at again after this, if no finish frees it first
NEVER = float("inf")


@dataclass
class Limit:
    """A key's limit as one claim sees it (`limit_of`), with what the claim did under it."""

    key: str
    definition: str
    concurrency: int
    rate: int
    per_ms: int
    running: int = 0
    started: int = 0
    holding: bool = False


@dataclass
class Throttle:
    limits: dict[str, str] = field(default_factory=dict)  # definition -> 'conc rate per_ms'
    running: dict[str, set[str]] = field(default_factory=dict)  # lrun:<key>
    starts: dict[str, tuple[list[int], int]] = field(default_factory=dict)  # lrate, expiry
    in_use: dict[str, int] = field(default_factory=dict)  # linuse
    held: _ZSet = field(default_factory=_ZSet)  # key -> when it may have room (ms)
    held_jobs: dict[str, _ZSet] = field(default_factory=dict)  # hq:<key>
    throttled: dict[str, int] = field(default_factory=dict)  # definition -> jobs it holds
    count: int = 0  # jobs held, all keys (lanen's `held`)

    def limit_of(self, key: str, memo: dict[str, Limit | None]) -> Limit | None:
        if key in memo:
            return memo[key]
        names = [key] + [
            key[: at + 1] + "*" for at in range(len(key) - 1, -1, -1) if key[at] == ":"
        ]
        names.append("*")
        lim = None
        for name in names:
            stored = self.limits.get(name)
            if stored is None:
                continue
            parts = stored.split(" ")
            if len(parts) == 3 and all(_is_int(x) for x in parts):
                conc, rate, per = (int(x) for x in parts)
                lim = Limit(key, name, conc, rate, per, running=len(self.running.get(key, ())))
            break
        memo[key] = lim
        return lim

    def _window(self, key: str, now: int) -> list[int]:
        entry = self.starts.get(key)
        if entry is None or entry[1] <= now:
            self.starts.pop(key, None)
            return []
        return entry[0]

    def has_room(self, lim: Limit, now: int) -> bool:
        if 0 <= lim.concurrency <= lim.running:
            return False
        if lim.rate > 0:
            k = lim.rate - 1 - lim.started
            if k < 0:
                return False
            window = self._window(lim.key, now)
            if k < len(window) and window[k] > now - lim.per_ms:
                return False
        return True

    def ready_at(self, lim: Limit, now: int) -> float:
        if lim.concurrency == 0:
            return NEVER
        at = now
        if 0 < lim.concurrency <= lim.running:
            at = now + _FALLBACK_MS
        if lim.rate > 0:
            k = lim.rate - 1 - lim.started
            t = now
            if k >= 0:
                window = self._window(lim.key, now)
                t = window[k] if k < len(window) else 0
            at = max(at, t + lim.per_ms)
        return at

    def take_slot(self, lim: Limit | None, key: str, job_id: str, rec: Record) -> None:
        self.running.setdefault(key, set()).add(job_id)
        if lim is not None:
            self.in_use[lim.definition] = self.in_use.get(lim.definition, 0) + 1
            lim.running += 1
            lim.started += 1
            rec["ldef"] = lim.definition

    def free_slot(self, job_id: str, rec: Record, now: int) -> int:
        """A running job under a limit key ended: 1 if a worker should wake for its key."""
        key = rec.get("limit")
        slots = self.running.get(key) if key else None
        if key is None or not slots or job_id not in slots:
            return 0
        slots.discard(job_id)
        if not slots:
            del self.running[key]
        definition = rec.get("ldef")
        if definition:
            left = self.in_use.get(definition, 0) - 1
            if left <= 0:
                self.in_use.pop(definition, None)
            else:
                self.in_use[definition] = left
        score = self.held.score(key)
        if score is None or score == now:
            return 0
        self.held.add(key, now)
        return 1

    def hold(self, job_id: str, rec: Record, lim: Limit, score: float) -> None:
        """Set the job aside under its full key, at `score` (`Lanes.lane_score`)."""
        self.held_jobs.setdefault(lim.key, _ZSet()).add(job_id, score)
        rec["held"] = lim.definition
        self.throttled[lim.definition] = self.throttled.get(lim.definition, 0) + 1
        self.count += 1
        lim.holding = True

    def unhold(self, rec: Record | None) -> None:
        definition = None if rec is None else rec.pop("held", None)
        if definition:
            left = self.throttled.get(definition, 0) - 1
            if left <= 0:
                self.throttled.pop(definition, None)
            else:
                self.throttled[definition] = left
        self.count -= 1

    def pop_held(self, key: str) -> str | None:
        lane = self.held_jobs.get(key)
        if not lane:
            return None
        [job_id] = lane.pop_min(1)
        if not lane:
            del self.held_jobs[key]
        return job_id

    def drop_held_key(self, key: str) -> None:
        if key not in self.held_jobs:
            self.held.remove(key)

    def limits_done(self, memo: dict[str, Limit | None], now: int) -> None:
        for key, lim in memo.items():
            if lim is None:
                continue
            if lim.started and lim.rate > 0:
                window = [now] * min(lim.started, lim.rate) + self._window(key, now)
                self.starts[key] = (window[: lim.rate], now + lim.per_ms + 1000)
            if lim.holding:
                if key in self.held_jobs:
                    self.held.add(key, self.ready_at(lim, now))
                else:
                    self.held.remove(key)

    def wake_held(self, definition: str, now: int) -> int:
        """A limit changed: the held keys it covers are due now. Returns how many moved."""
        if definition.endswith("*"):
            prefix = definition[:-1]
            keys = [k for _, k in self.held.items() if k.startswith(prefix)]
        else:
            keys = [definition] if self.held.score(definition) is not None else []
        woken = 0
        for key in keys:
            if self.held.score(key) != now:
                self.held.add(key, now)
                woken += 1
        return woken

    def next_ready(self) -> float | None:
        first = self.held.first()
        return None if first is None or first[0] == NEVER else first[0]

    # -- as a side lane of pending jobs (Lanes) ------------------------------------------
    def remove(self, job_id: str, rec: Record) -> bool:
        """Out of its key's held lane, if a limit holds it (part of remove_pending)."""
        key = rec.get("limit")
        if not (rec.get("held") and key and key in self.held_jobs):
            return False
        if not self.held_jobs[key].remove(job_id):
            return False
        if not self.held_jobs[key]:
            del self.held_jobs[key]
        self.unhold(rec)
        return True

    def purge(self) -> list[str]:
        """Every held job, the held lanes emptied (part of purge.lua's purge_lanes)."""
        ids = [i for lane in self.held_jobs.values() for _, i in lane.items()]
        self.held_jobs.clear()
        self.held = _ZSet()
        self.throttled.clear()
        self.count = 0
        return ids

    def lanes(self) -> list[list[str]]:
        """The held lanes in page order (by when their key may have room), each its ids
        oldest first."""
        return [
            [m for _, m in self.held_jobs[key].items()]
            for _, key in self.held.items()
            if key in self.held_jobs
        ]


def _is_int(text: str) -> bool:
    return text.lstrip("-").isdigit()
