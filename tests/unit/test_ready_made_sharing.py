"""`ReadyMade.serve`: one body made for the readers that arrive while it is being made, never an older one."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

from api.ready_made import ReadyMade

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


class Maker:
    """Makes bodies named for it and the call that made them; each call waits until `release` is set."""

    def __init__(self, name: str = "body", valid_for: timedelta | None = None) -> None:
        self.name = name
        self.calls = 0
        self.release = threading.Event()
        self.valid_for = valid_for

    def __call__(self) -> tuple[bytes, datetime | None]:
        self.calls += 1
        call = self.calls
        self.release.wait(10)
        return f"{self.name} {call}".encode(), None if self.valid_for is None else NOW + self.valid_for


async def _serve_all(ready: ReadyMade, readers: list[tuple[tuple[int, ...], Maker]]) -> list[bytes]:
    """Every reader asks at once; the bodies are released only once each has either started a body or joined
    one being made (each task runs to its first wait in one turn of the loop)."""
    tasks = [asyncio.ensure_future(ready.serve("workload", at, NOW, maker)) for at, maker in readers]
    await asyncio.sleep(0)
    for _, maker in readers:
        maker.release.set()
    return [body.content for body in await asyncio.gather(*tasks)]


def test_readers_at_the_same_positions_share_the_body_being_made() -> None:
    ready, maker = ReadyMade(), Maker()

    contents = asyncio.run(_serve_all(ready, [((5, 5), maker)] * 10))

    assert maker.calls == 1
    assert contents == [b"body 1"] * 10


def test_a_reader_at_newer_positions_never_takes_a_body_made_at_older_ones() -> None:
    ready, older, newer = ReadyMade(), Maker("older"), Maker("newer")

    contents = asyncio.run(_serve_all(ready, [((5, 5), older), ((5, 6), newer)]))

    assert (older.calls, newer.calls) == (1, 1)
    assert contents == [b"older 1", b"newer 1"]


def test_a_reader_at_older_positions_takes_the_newer_body_kept() -> None:
    ready, maker = ReadyMade(), Maker()
    maker.release.set()

    async def run() -> list[bytes]:
        newer = await ready.serve("workload", (7, 9), NOW, maker)
        older = await ready.serve("workload", (6, 9), NOW, maker)
        other_kind = await ready.serve("manager-workload", (6, 9), NOW, maker)
        return [newer.content, older.content, other_kind.content]

    assert asyncio.run(run()) == [b"body 1", b"body 1", b"body 2"]


def test_a_body_past_the_moment_it_holds_until_is_made_again() -> None:
    ready, maker = ReadyMade(), Maker(valid_for=timedelta(minutes=1))
    maker.release.set()

    async def run() -> list[bytes]:
        first = await ready.serve("workload", (1, 1), NOW, maker)
        same_minute = await ready.serve("workload", (1, 1), NOW + timedelta(seconds=59), maker)
        later = await ready.serve("workload", (1, 1), NOW + timedelta(minutes=1), maker)
        return [first.content, same_minute.content, later.content]

    assert asyncio.run(run()) == [b"body 1", b"body 1", b"body 2"]


def test_a_failure_reaches_every_reader_waiting_and_the_next_reader_tries_again() -> None:
    ready = ReadyMade()
    started, release = threading.Event(), threading.Event()
    attempts: list[int] = []

    def failing() -> tuple[bytes, datetime | None]:
        attempts.append(1)
        started.set()
        release.wait(10)
        raise ConnectionError("the store went away")

    async def run() -> list[object]:
        tasks = [asyncio.ensure_future(ready.serve("workload", (1, 1), NOW, failing)) for _ in range(3)]
        await asyncio.to_thread(started.wait, 10)
        release.set()
        return await asyncio.gather(*tasks, return_exceptions=True)

    outcomes = asyncio.run(run())
    assert all(isinstance(outcome, ConnectionError) for outcome in outcomes)
    assert len(attempts) == 1
    recovered = asyncio.run(ready.serve("workload", (1, 1), NOW, lambda: (b"back", None)))
    assert recovered.content == b"back"
