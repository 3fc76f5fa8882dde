"""`a` on a list longer than the window: the selection object reads every row from the
server (page by page), or refuses a list too long to act on. No app needed: `Selection` is
handed the service, the state and a way to post messages."""

from __future__ import annotations

import pytest

from jobdeck.console.keys import selection as selection_module
from jobdeck.console.keys.selection import Selection
from jobdeck.console.live.state import ConsoleState, JobRow
from jobdeck.core import JobService
from jobdeck.core.backend.memory import MemoryBackend


@pytest.fixture
async def service(prefix: str):
    async with JobService(f"memory://{prefix}", queue="q", prefix=prefix) as svc:
        await svc.pause_queue()
        yield svc
    MemoryBackend.forget(f"{prefix}/{prefix}/q")


async def _state_with_first_page(service: JobService, total: int) -> ConsoleState:
    await service.submit_jobs([{"name": "n", "args": [i]} for i in range(total)])
    state = ConsoleState(queue="q", server="memory")
    state.depths = {"pending": total}
    view = state.views["pending"]
    view.rows = [JobRow.from_job(job) for job in await service.list_jobs("pending", limit=50)]
    view.total, view.loaded = total, True
    return state


async def test_select_all_reads_the_whole_list_from_the_server(service: JobService) -> None:
    state = await _state_with_first_page(service, 1_234)
    said: list[Selection.Changed] = []
    picker = Selection(service, state, said.append)
    await picker.mark_all("pending")
    marked = state.views["pending"].marked
    everything = await service.list_jobs("pending", limit=2_000)
    assert set(marked) == {job.id for job in everything} and len(marked) == 1_234
    assert said[-1].note == "1,234 selected"
    picker.mark("pending", state.views["pending"].rows[0], toggle=True)
    assert picker.count("pending") == 1_233
    assert picker.clear("pending") and not picker.clear("pending")


async def test_select_all_refuses_a_list_too_long_to_act_on(
    service: JobService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(selection_module, "MAX_SELECTED", 100)
    state = await _state_with_first_page(service, 120)
    said: list[Selection.Changed] = []
    await Selection(service, state, said.append).mark_all("pending")
    assert not state.views["pending"].marked
    assert "120 rows: narrow them with / first (at most 100)" in said[-1].note
