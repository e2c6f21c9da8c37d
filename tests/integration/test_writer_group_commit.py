"""The process's writer: commands run on one thread, queued ones committed together in one transaction, each
undone alone when its rule fails or its insert conflicts, none stored when the COMMIT fails."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import UUID

import pytest
from eventsourcing.persistence import OperationalError

from domain.application import CommandResult
from domain.commands import LogContact, OpenRelationship, RegisterAccountManager
from domain.errors import NotFound, PreconditionFailed
from domain.relationship_events import ContactLogged
from domain.values import Audit
from infrastructure.bootstrap import System, build_system
from infrastructure.settings import Settings
from infrastructure.writer import Writer


@pytest.fixture
def system(database_url: str) -> Iterator[System]:
    built = build_system(Settings(database_url=database_url), run_projections=False)
    try:
        yield built
    finally:
        built.close()


def _open(system: System, manager: Audit) -> UUID:
    ledger = system.ledger
    am = ledger.register_account_manager(manager, RegisterAccountManager(name="Ada Lovelace", email="ada@example.com"))
    opened = ledger.open_relationship(
        manager,
        OpenRelationship(
            client_name="Acme",
            client_kind="corporate",
            industry="technology",
            tier="standard",
            account_manager_id=am.id,
        ),
    )
    return opened.id


def _summaries(system: System, relationship_id: UUID) -> list[str]:
    return [event.summary for event in system.ledger.history(relationship_id) if isinstance(event, ContactLogged)]


def _contact(summary: str) -> LogContact:
    return LogContact(occurred_at=datetime(2026, 1, 5, 10, tzinfo=UTC), channel="call", summary=summary)


async def _together(writer: Writer, *calls: tuple[object, ...]) -> list[object]:
    """Queues the calls at once (so the writer takes them as one group) and gathers each outcome."""
    return await asyncio.gather(*(writer.run(*call) for call in calls), return_exceptions=True)  # type: ignore[arg-type]


def test_commands_queued_together_are_one_group_and_each_sees_the_one_before(system: System, manager: Audit) -> None:
    relationship_id = _open(system, manager)
    ledger, writer = system.ledger, system.writer
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:  # keeps the writer busy while the others queue up behind it
        holding.set()
        release.wait(30)

    async def run() -> list[object]:
        held = asyncio.ensure_future(writer.run(hold))
        await asyncio.to_thread(holding.wait, 30)
        queued = asyncio.ensure_future(
            _together(
                writer, *((ledger.log_contact, manager, relationship_id, _contact(f"Call {n}")) for n in range(20))
            )
        )
        while writer._queue.qsize() < 20:
            await asyncio.sleep(0.001)
        release.set()
        await held
        return await queued

    groups_before = writer.groups
    results = asyncio.run(run())
    assert all(not isinstance(result, BaseException) for result in results), results
    versions = sorted(result.version for result in results)  # type: ignore[attr-defined]
    assert versions == list(range(2, 22))  # each read what the one before it stored
    assert writer.groups - groups_before == 2  # the holding command alone, then the twenty together
    assert sorted(_summaries(system, relationship_id)) == sorted(f"Call {n}" for n in range(20))


def test_a_command_that_fails_is_answered_alone_and_its_neighbours_are_stored(system: System, manager: Audit) -> None:
    relationship_id = _open(system, manager)
    ledger, writer = system.ledger, system.writer
    unknown = UUID(int=7)
    outcomes = asyncio.run(
        _together(
            writer,
            (ledger.log_contact, manager, relationship_id, _contact("first")),
            (ledger.log_contact, manager, unknown, _contact("nowhere")),
            (ledger.log_contact, manager, relationship_id, _contact("second")),
            (ledger.log_contact, manager, relationship_id, _contact("third")),
        )
    )
    assert isinstance(outcomes[1], NotFound)
    assert not any(isinstance(outcome, BaseException) for outcome in (outcomes[0], outcomes[2], outcomes[3]))
    with pytest.raises(PreconditionFailed):
        asyncio.run(writer.run(ledger.log_contact, manager, relationship_id, _contact("late"), expected_version=1))
    assert sorted(_summaries(system, relationship_id)) == ["first", "second", "third"]


def test_a_group_whose_commit_fails_stores_nothing_and_every_caller_hears_it(
    system: System, manager: Audit, monkeypatch: pytest.MonkeyPatch
) -> None:
    relationship_id = _open(system, manager)
    ledger, writer = system.ledger, system.writer
    before = ledger.relationship(relationship_id).version
    told: list[tuple[int, int]] = []
    ledger.on_saved.append(lambda position, count: told.append((position, count)))
    real_group = writer.group_commit.group

    class CommitRefused(RuntimeError):
        pass

    def failing_group() -> object:
        from contextlib import contextmanager

        @contextmanager
        def group() -> Iterator[None]:
            with real_group():
                yield
                raise CommitRefused  # as if the COMMIT failed: the group's transaction is rolled back

        return group()

    monkeypatch.setattr(writer.group_commit, "group", failing_group)
    outcomes = asyncio.run(
        _together(
            writer,
            (ledger.log_contact, manager, relationship_id, _contact("one")),
            (ledger.log_contact, manager, relationship_id, _contact("two")),
        )
    )
    assert all(isinstance(outcome, CommitRefused) for outcome in outcomes)
    assert ledger.relationship(relationship_id).version == before
    assert told == []  # the projections are never told of what was rolled back


def test_new_aggregates_in_one_group_each_get_their_own_positions_in_order(system: System, manager: Audit) -> None:
    """A group mixing aggregates (new ones too) stores each with its own versions and positions in order."""
    ledger, writer = system.ledger, system.writer
    registrations = [
        (
            ledger.register_account_manager,
            manager,
            RegisterAccountManager(name=f"Manager {n}", email=f"m{n}@example.com"),
        )
        for n in range(10)
    ]
    outcomes = asyncio.run(_together(writer, *registrations))
    assert all(isinstance(outcome, CommandResult) for outcome in outcomes), outcomes
    results = [outcome for outcome in outcomes if isinstance(outcome, CommandResult)]
    positions = [result.position for result in results]
    assert positions == sorted(positions)
    assert len(set(positions)) == 10
    assert all(ledger.account_manager(result.id).name.startswith("Manager") for result in results)


def test_commands_run_one_at_a_time_on_one_thread_named_for_it(system: System) -> None:
    writer = system.writer
    running = 0
    most = 0
    threads: set[str] = set()
    guard = threading.Lock()

    def command(number: int) -> int:
        nonlocal running, most
        with guard:
            running += 1
            most = max(most, running)
        threads.add(threading.current_thread().name)
        threading.Event().wait(0.002)  # long enough for a second command to start alongside, were there a thread
        with guard:
            running -= 1
        return number * 2

    async def many() -> list[int]:
        return await asyncio.gather(*(writer.run(command, n) for n in range(40)))

    assert asyncio.run(many()) == [n * 2 for n in range(40)]
    assert most == 1
    assert threads == {"ledger-writer"}


def test_a_closed_writer_finishes_what_was_queued_and_starts_again_when_used(system: System) -> None:
    writer = system.writer
    first = asyncio.run(writer.run(threading.current_thread))
    writer.close()
    assert not first.is_alive()
    second = asyncio.run(writer.run(threading.current_thread))
    assert second is not first  # a new thread after the close
    assert second.is_alive()
    assert threading.current_thread() not in (first, second)


def _as_one_group(writer: Writer, calls: list[tuple[object, ...]]) -> list[object]:
    """Runs the calls as one group: the writer is held busy until all of them are queued behind it."""
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        holding.set()
        release.wait(30)

    async def run() -> list[object]:
        held = asyncio.ensure_future(writer.run(hold))
        await asyncio.to_thread(holding.wait, 30)
        queued = asyncio.ensure_future(_together(writer, *calls))
        while writer._queue.qsize() < len(calls):
            await asyncio.sleep(0.001)
        release.set()
        await held
        return await queued

    return asyncio.run(run())


@pytest.mark.postgres
def test_a_group_whose_connection_is_lost_before_its_commit_acknowledges_nothing(
    postgres_url: str, manager: Audit
) -> None:
    """psycopg leaves a transaction block on a lost connection silently; the group must not take that for a
    COMMIT (a reliability run once acknowledged a contact that was never stored)."""
    system = build_system(Settings(database_url=postgres_url), run_projections=False)
    try:
        relationship_id = _open(system, manager)
        ledger, writer = system.ledger, system.writer
        before = ledger.relationship(relationship_id).version

        def lose_the_connection() -> None:  # on the writer's thread, inside the group, as a server restart would
            writer.group_commit._local.connection.close()

        outcomes = _as_one_group(
            writer,
            [(ledger.log_contact, manager, relationship_id, _contact("never acknowledged")), (lose_the_connection,)],
        )
        assert isinstance(outcomes[0], OperationalError), outcomes
        assert ledger.relationship(relationship_id).version == before
        assert _summaries(system, relationship_id) == []
    finally:
        system.close()
