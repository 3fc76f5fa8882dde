"""The memory engine's side lanes of pending jobs, as `_lib.lua` keeps them in Redis: groups
taking turns within a priority (fairness), jobs parked for a worker that has their handler,
and jobs held by a limit (throttled: `Throttle`, `throttle.py`, with the limits themselves).

`Lanes` holds what the Redis keys hold (`gr:<p>`, `gq:<p>:<group>`, `pq:<name>`, `parked`,
`lanen`, `laneseq`; the limits' keys in its `throttle`); its methods are the Lua helpers of
the same names, over the store's main pending set.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .store import Record, _number, _pscore, _ZSet
from .throttle import NEVER, Limit, Throttle

__all__ = ["LANE_WALK", "Lanes"]

_BAND = 2**44
LANE_WALK = 1000  # side lanes one pending page reads at most (status_ids in _lib.lua)


def _prio(value: Any) -> int:
    number = _number(value)
    return int(number) if number in (0, 2, 3) else 1


@dataclass
class Lanes:
    rotation: dict[int, deque[str]] = field(default_factory=dict)  # gr:<p>, '' = main list
    groups: dict[tuple[int, str], deque[str]] = field(default_factory=dict)  # gq:<p>:<group>
    parked: _ZSet = field(default_factory=_ZSet)  # name -> parked jobs
    parked_jobs: dict[str, _ZSet] = field(default_factory=dict)  # pq:<name>
    counts: dict[str, int] = field(default_factory=dict)  # lanen (held jobs: throttle.count)
    throttle: Throttle = field(default_factory=Throttle)  # limits and the jobs they hold
    seq: int = 0  # laneseq: the order in which claims set jobs aside

    def lane_score(self, priority: Any) -> float:
        """Order in a parked or held lane: higher priority first, then set aside first."""
        self.seq += 1
        return (3 - _prio(priority)) * _BAND + self.seq

    # -- counts ----------------------------------------------------------------------------
    def count(self, name: str, n: int) -> None:
        if n:
            self.counts[name] = self.counts.get(name, 0) + n

    def total(self) -> int:
        return sum(self.counts.values()) + self.throttle.count

    # -- groups ----------------------------------------------------------------------------
    def enqueue(self, main: _ZSet, job_id: str, rec: Record, seq: Any, front: bool) -> None:
        """Into its group's lane, or its priority's main line (push_pending)."""
        p, group = _prio(rec.get("priority")), rec.get("group")
        if group:
            lane = self.groups.get((p, group))
            new = lane is None
            if lane is None:
                lane = self.groups[(p, group)] = deque()
            if front:
                lane.appendleft(job_id)
            else:
                lane.append(job_id)
            self.count(f"g{p}", 1)
            if new:
                rot = self.rotation.get(p)
                if rot is None:
                    rot = self.rotation[p] = deque([group])
                    if _band(main, p):
                        rot.append("")
                else:
                    rot.append(group)
            return
        was_empty = not _band(main, p)
        main.add(job_id, _pscore(p, seq))
        if was_empty and p in self.rotation:
            self.rotation[p].append("")

    def pop_level(self, main: _ZSet, p: int, want: int, turns: list[int]) -> tuple[list[str], bool]:
        """Up to `want` ids of priority p, groups and the main line ('') in turn; and whether
        priority p ran dry (claim.lua's pop_level)."""
        popped: list[str] = []
        rot = self.rotation.get(p)
        while rot is not None and len(popped) < want and turns[0] > 0:
            turns[0] -= 1
            rot.rotate(-1)
            g = rot[-1]
            if g == "":
                first = _band_pop(main, p)
                empty = first is None or not _band(main, p)
                if first is not None:
                    popped.append(first)
            else:
                lane = self.groups.get((p, g))
                first = lane.popleft() if lane else None
                if first is not None:
                    popped.append(first)
                    self.count(f"g{p}", -1)
                empty = not lane
                if empty:
                    self.groups.pop((p, g), None)
            if empty:
                rot.pop()
                if not rot or list(rot) == [""]:
                    del self.rotation[p]
                    rot = None
        if rot is not None:
            return popped, False
        while len(popped) < want:
            first = _band_pop(main, p)
            if first is None:
                break
            popped.append(first)
        return popped, len(popped) < want

    # -- parked ----------------------------------------------------------------------------
    def park(self, job_id: str, rec: Record) -> None:
        name = str(rec.get("name"))
        self.parked_jobs.setdefault(name, _ZSet()).add(job_id, self.lane_score(rec.get("priority")))
        self.parked.add(name, (self.parked.score(name) or 0) + 1)
        self.count("parked", 1)

    def unpark(self, name: str) -> None:
        left = (self.parked.score(name) or 0) - 1
        if left <= 0:
            self.parked.remove(name)
        else:
            self.parked.add(name, left)
        self.count("parked", -1)

    def pop_parked(self, name: str, n: int) -> list[str]:
        lane = self.parked_jobs.get(name)
        if lane is None:
            return []
        ids = lane.pop_min(n)
        if not lane:
            del self.parked_jobs[name]
        return ids

    # -- removing ----------------------------------------------------------------------------
    def hold(self, job_id: str, rec: Record, lim: Limit) -> None:
        """Set the job aside under its full limit key, in set-aside order."""
        self.throttle.hold(job_id, rec, lim, self.lane_score(rec.get("priority")))

    # -- removing ----------------------------------------------------------------------------
    def remove(self, main: _ZSet, job_id: str, rec: Record) -> bool:
        """Out of the pending lanes wherever it is (remove_pending)."""
        name, group = rec.get("name"), rec.get("group")
        if self.throttle.remove(job_id, rec):
            return True
        if name in self.parked_jobs and self.parked_jobs[name].remove(job_id):
            if not self.parked_jobs[name]:
                del self.parked_jobs[name]
            self.unpark(name)
            return True
        if group:
            p = _prio(rec.get("priority"))
            lane = self.groups.get((p, group))
            if lane is not None and job_id in lane:
                lane.remove(job_id)
                self.count(f"g{p}", -1)
                return True
        return main.remove(job_id)

    def purge(self) -> list[str]:
        """Every job in a side lane, the lanes emptied (purge.lua's purge_lanes)."""
        ids = [i for lane in self.groups.values() for i in lane]
        ids += self.throttle.purge()
        ids += [i for lane in self.parked_jobs.values() for _, i in lane.items()]
        self.rotation.clear()
        self.groups.clear()
        self.parked_jobs.clear()
        self.parked = _ZSet()
        self.counts.clear()
        return ids

    # -- reading -----------------------------------------------------------------------------
    def pending_page(self, main: _ZSet, first: int, count: int, newest: bool) -> list[str]:
        """`count` pending ids from position `first` (status_ids in Lua): each priority's
        main line and its groups' lanes in turn order, then held jobs by key, then parked
        jobs by name; newest first is the same order reversed. A kind of side lane whose
        total lies before `first` is skipped by its count, and at most `LANE_WALK` lanes are
        read, as the script does."""
        kinds: list[tuple[str, int]] = []
        for p in (3, 2, 1, 0):
            kinds += [("main", p), ("groups", p)]
        kinds += [("held", 0), ("parked", 0)]
        if newest:
            kinds.reverse()
        ids: list[str] = []
        walked = 0

        def take(members: list[str]) -> None:
            nonlocal first, count
            if first >= len(members):
                first -= len(members)
                return
            chosen = members[::-1] if newest else members
            ids.extend(chosen[first : first + count])
            count -= len(chosen[first : first + count])
            first = 0

        for kind, p in kinds:
            if count <= 0 or walked >= LANE_WALK:
                break
            if kind == "main":  # read by position: a page costs its rows, not the line
                start, end = main.positions(*_bounds(p))
                if first >= end - start:
                    first -= end - start
                    continue
                n = min(count, end - start - first)
                if newest:
                    ids.extend(main.members(end - first - n, end - first)[::-1])
                else:
                    ids.extend(main.members(start + first, start + first + n))
                count, first = count - n, 0
                continue
            if kind == "held":
                total = self.throttle.count
            else:
                total = self.counts.get(f"g{p}" if kind == "groups" else kind, 0)
            if first >= total:
                first -= total
                continue
            lanes = self._lanes(kind, p)
            for lane in reversed(lanes) if newest else lanes:
                if count <= 0 or walked >= LANE_WALK:
                    break
                walked += 1
                take(lane)
        return ids

    def _lanes(self, kind: str, p: int) -> list[list[str]]:
        """The side lanes of one kind in page order, each its ids oldest first."""
        if kind == "groups":
            return [list(self.groups.get((p, g), ())) for g in self.rotation.get(p, ()) if g]
        if kind == "held":
            return self.throttle.lanes()
        return [
            [m for _, m in self.parked_jobs[name].items()]
            for _, name in reversed(self.parked.items())
            if name in self.parked_jobs
        ]


def _bounds(p: int) -> tuple[float, float]:
    """The scores of priority p in the main pending set; the outer bands are open, so no
    stray score is left out."""
    lo = -NEVER if p == 3 else (3 - p) * _BAND
    hi = NEVER if p == 0 else (4 - p) * _BAND
    return lo, hi


def _band(main: _ZSet, p: int) -> bool:
    """Whether the main pending set holds a job of priority p."""
    return main.count_between(*_bounds(p)) > 0


def _band_pop(main: _ZSet, p: int) -> str | None:
    first = main.first()
    lo, hi = _bounds(p)
    if first is None or not lo <= first[0] < hi:
        return None
    main.remove(first[1])
    return first[1]
