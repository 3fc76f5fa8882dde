"""`jobdeck schedules list/pause/resume/trigger/remove` against a real Redis."""

from __future__ import annotations

import asyncio
import json

from click.testing import CliRunner

from jobdeck.core import JobService
from jobdeck.core.cli import main


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


def test_schedules_commands(redis_url: str, prefix: str) -> None:
    async def setup() -> None:
        async with JobService(redis_url, queue="q", prefix=prefix) as svc:
            await svc.add_schedule("nightly", "backup", cron="0 3 * * *", timezone="Europe/Berlin")
            await svc.add_schedule("tick", "ping", every=30)

    asyncio.run(setup())
    flags = ("--url", redis_url, "--queue", "q", "--prefix", prefix)
    code, out, _ = run("schedules", "list", *flags)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["NAME", "JOB", "WHEN", "STATE"]
    assert "cron 0 3 * * * (Europe/Berlin)" in lines[1] and "every 30s" in lines[2]

    assert run("schedules", "pause", "tick", *flags)[1] == "schedule tick: paused\n"
    assert run("schedules", "pause", "tick", *flags)[1] == "schedule tick: already paused\n"
    code, out, _ = run("schedules", "list", "--json", *flags)
    tick = json.loads(out.splitlines()[1])
    assert tick["name"] == "tick" and tick["paused"] is True and tick["next_fire"] is None
    assert run("schedules", "resume", "tick", *flags)[1] == "schedule tick: resumed\n"

    code, out, _ = run("schedules", "trigger", "nightly", *flags)
    assert code == 0 and out.startswith("schedule nightly: queued job sched:nightly:manual-")

    code, _, err = run("schedules", "remove", "nightly", *flags, input="")
    assert code == 2 and "confirm with --yes" in err, err
    assert (
        run("schedules", "remove", "nightly", "--yes", *flags)[1] == "schedule nightly: removed\n"
    )

    for verb in ("pause", "resume", "trigger"):
        code, _, err = run("schedules", verb, "nightly", *flags)
        assert code == 2 and err == "jobdeck: error: schedule: no schedule named 'nightly'\n"
    code, _, err = run("schedules", "remove", "nightly", "--yes", *flags)
    assert code == 2 and "no schedule named nightly" in err


def test_list_json_cannot_drive_the_terminal(redis_url: str, prefix: str) -> None:
    """A schedule's args are anyone's text: `list --json` writes the characters that would act
    on a terminal (a C1 control, a bidi override, a zero-width space) as \\u escapes, as every
    other `--json` of the CLI does; the JSON still reads back as the same value."""
    hostile = "\u202eevil\x9b31m\u200bend"

    async def setup() -> None:
        async with JobService(redis_url, queue="q", prefix=prefix) as svc:
            await svc.add_schedule("tick", "ping", every=30, args=[hostile])

    asyncio.run(setup())
    flags = ("--url", redis_url, "--queue", "q", "--prefix", prefix)
    code, out, _ = run("schedules", "list", "--json", *flags)
    assert code == 0
    assert not {"\u202e", "\x9b", "\u200b"} & set(out), ascii(out)
    assert json.loads(out)["args"] == [hostile]
