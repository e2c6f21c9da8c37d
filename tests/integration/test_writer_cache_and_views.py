"""The writer's own aggregate cache and, where the store has one write lock, the views applied by the writer."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from uuid import UUID

import pytest

from domain.application import CommandResult
from domain.commands import LogContact, OpenRelationship, RegisterAccountManager
from domain.relationship import ClientRelationship
from domain.relationship_events import ContactLogged
from domain.values import Audit
from infrastructure.bootstrap import System, build_ledger, build_system
from infrastructure.settings import Settings

HOUR = 3600.0
"""A poll interval no test waits out: only a wake-up or the writer can move the views in time."""


@pytest.fixture
def system(database_url: str) -> Iterator[System]:
    built = build_system(Settings(database_url=database_url), run_projections=True, poll_interval=HOUR)
    try:
        yield built
    finally:
        built.close()


def _open(system: System, manager: Audit) -> UUID:
    ledger = system.ledger
    am = ledger.register_account_manager(manager, RegisterAccountManager(name="Ada Lovelace", email="ada@example.com"))
    relationship = OpenRelationship(
        client_name="Acme", client_kind="corporate", industry="technology", tier="standard", account_manager_id=am.id
    )
    return ledger.open_relationship(manager, relationship).id


def _contact(summary: str) -> LogContact:
    return LogContact(occurred_at=datetime(2026, 1, 5, 10, tzinfo=UTC), channel="call", summary=summary)


def _log(system: System, manager: Audit, relationship_id: UUID, summary: str) -> CommandResult:
    result: CommandResult = asyncio.run(
        system.writer.run(system.ledger.log_contact, manager, relationship_id, _contact(summary))
    )
    return result


def _versions_and_summaries(system: System, relationship_id: UUID) -> tuple[list[int], list[str]]:
    history = list(system.ledger.history(relationship_id))
    summaries = [event.summary for event in history if isinstance(event, ContactLogged)]
    return [event.originator_version for event in history], summaries


def test_a_group_that_did_not_commit_leaves_nothing_in_the_writers_cache(
    system: System, manager: Audit, monkeypatch: pytest.MonkeyPatch
) -> None:
    relationship_id = _open(system, manager)
    _log(system, manager, relationship_id, "cached")  # the relationship is now in the writer's cache
    writer, ledger = system.writer, system.ledger
    real_group = writer.group_commit.group

    class CommitRefused(RuntimeError):
        pass

    @contextmanager
    def refusing_group() -> Iterator[None]:
        with real_group():
            yield
            raise CommitRefused

    monkeypatch.setattr(writer.group_commit, "group", refusing_group)

    async def two_in_one_group() -> list[object]:
        calls = [writer.run(ledger.log_contact, manager, relationship_id, _contact(n)) for n in ("lost 1", "lost 2")]
        return await asyncio.gather(*calls, return_exceptions=True)

    assert all(isinstance(outcome, CommitRefused) for outcome in asyncio.run(two_in_one_group()))
    monkeypatch.undo()

    after = _log(system, manager, relationship_id, "after")

    versions, summaries = _versions_and_summaries(system, relationship_id)
    assert after.version == 3  # not 5: the cache forgot the versions that were never committed
    assert versions == [1, 2, 3]
    assert summaries == ["cached", "after"]


def test_the_writer_reads_what_another_process_stored_since_it_cached_an_aggregate(
    system: System, manager: Audit, database_url: str
) -> None:
    relationship_id = _open(system, manager)
    _log(system, manager, relationship_id, "ours, cached")
    other = build_ledger(Settings(database_url=database_url))  # another process's ledger on the same store
    try:
        other.log_contact(manager, relationship_id, _contact("theirs"))
    finally:
        other.close()

    ours = _log(system, manager, relationship_id, "ours again")

    versions, summaries = _versions_and_summaries(system, relationship_id)
    assert ours.version == 4
    assert versions == [1, 2, 3, 4]
    assert summaries == ["ours, cached", "theirs", "ours again"]


def test_each_command_gets_its_own_copy_so_a_refused_one_changes_nothing_cached(system: System, manager: Audit) -> None:
    relationship_id = _open(system, manager)
    _log(system, manager, relationship_id, "cached")

    def contact_then_refuse() -> None:  # changes the aggregate it loaded, then fails before saving
        relationship = system.ledger._load(ClientRelationship, relationship_id)
        relationship.log_contact(manager, _contact("never saved"))
        raise RuntimeError("refused")

    with pytest.raises(RuntimeError):
        asyncio.run(system.writer.run(contact_then_refuse))
    after = _log(system, manager, relationship_id, "after")

    assert after.version == 3
    assert _versions_and_summaries(system, relationship_id)[1] == ["cached", "after"]


def _threads_applying(system: System, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    names: list[str] = []
    apply_batch = system.projections.apply_batch

    def recording(*args: object, **kwargs: object) -> object:
        names.append(threading.current_thread().name)
        return apply_batch(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(system.projections, "apply_batch", recording)
    return names


def test_the_views_follow_the_writers_commands_at_once(
    system: System, manager: Audit, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    relationship_id = _open(system, manager)
    assert system.projections.wait(system.projections.head(), timeout=10)
    applying = _threads_applying(system, monkeypatch)

    result = _log(system, manager, relationship_id, "followed")

    assert system.projections.wait(result.position, timeout=10)
    one_write_lock = database_url.startswith("sqlite")
    # SQLite: the writer applies them between its groups, and its saves do not wake the runner's thread, which
    # would queue for the write lock. PostgreSQL: the runner's thread, woken by the save.
    assert set(applying) == ({"ledger-writer"} if one_write_lock else {"projection-runner"})


def test_a_save_outside_the_writer_still_wakes_the_runner(
    system: System, manager: Audit, monkeypatch: pytest.MonkeyPatch
) -> None:
    relationship_id = _open(system, manager)
    applying = _threads_applying(system, monkeypatch)

    result = system.ledger.log_contact(manager, relationship_id, _contact("from a script"))

    assert system.projections.wait(result.position, timeout=10)
    assert set(applying) == {"projection-runner"}
