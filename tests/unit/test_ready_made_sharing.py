"""`ReadyMade.serve`: one body made for the readers that arrive while it is being made, never an older one."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

from api.ready_made import ReadyMade

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


class Maker:
    """Makes bodies that name the call that made them; each call waits until `release` is set."""

    def __init__(self, valid_for: timedelta | None = None) -> None:
        self.calls = 0
        self.release = threading.Event()
        self.valid_for = valid_for

    def __call__(self) -> tuple[bytes, datetime | None]:
        self.calls += 1
        call = self.calls
        self.release.wait(10)
        return f"body {call}".encode(), None if self.valid_for is None else NOW + self.valid_for


async def _serve_all(ready: ReadyMade, maker: Maker, positions: list[tuple[int, ...]]) -> list[bytes]:
    tasks = [asyncio.ensure_future(ready.serve("workload", at, NOW, maker)) for at in positions]
    while maker.calls == 0:  # the first is being made: the others arrive meanwhile
        await asyncio.sleep(0.001)
    await asyncio.sleep(0.01)
    maker.release.set()
    return [body.content for body in await asyncio.gather(*tasks)]


def test_readers_at_the_same_positions_share_the_body_being_made() -> None:
    ready, maker = ReadyMade(), Maker()

    contents = asyncio.run(_serve_all(ready, maker, [(5, 5)] * 10))

    assert maker.calls == 1
    assert contents == [b"body 1"] * 10


def test_a_reader_at_newer_positions_never_takes_a_body_made_at_older_ones() -> None:
    ready, maker = ReadyMade(), Maker()

    contents = asyncio.run(_serve_all(ready, maker, [(5, 5), (5, 6)]))

    assert maker.calls == 2
    assert contents == [b"body 1", b"body 2"]


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
