"""One writer per process: every command runs on a single thread, queued commands committed together.

Commands from the event loop are queued to one thread. It takes every command
waiting, runs them in turn inside one group (see `group_commit`: each command in
a savepoint of one transaction of the event store) and commits once; then it
answers each caller. A command whose rule fails or whose insert conflicts is
answered alone with its error; its neighbours are stored. If the COMMIT fails,
none of the group was stored and each caller hears why, unless the store
acknowledged nothing yet stored everything (a connection lost at the COMMIT),
which the writer finds out before answering.

On SQLite only one transaction can write at a time anyway; the thread pool used
to queue commands on that lock, each holding a worker thread and a pooled
connection. On PostgreSQL several processes still write at once, each with its
own writer; their races are settled by the store as before (optimistic
concurrency, re-run by `Ledger._retrying`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from eventsourcing.persistence import InterfaceError, OperationalError

from domain.application import Ledger
from infrastructure.group_commit import GroupCommit

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

MAX_GROUP = 64
"""At most this many commands in one transaction: a group holds the write lock while it runs."""


@dataclass
class _Command:
    work: Callable[[], Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    result: Any = None
    error: BaseException | None = None
    ran: bool = field(default=False)

    def answer(self) -> None:
        self.loop.call_soon_threadsafe(self._settle)

    def _settle(self) -> None:
        if self.future.done():  # the caller went away (its request was cancelled)
            return
        if self.error is not None:
            self.future.set_exception(self.error)
        else:
            self.future.set_result(self.result)


_STOP = object()


class Writer:
    """The thread that runs this process's commands, in groups committed together."""

    def __init__(self, ledger: Ledger, group_commit: GroupCommit, *, max_group: int = MAX_GROUP) -> None:
        self.ledger = ledger
        self.group_commit = group_commit
        self.max_group = max_group
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.after_group: Callable[[], None] | None = None
        """Called on the writer's thread after each group is answered (the views applied, where the store has one
        write lock: see `ProjectionRunner.advance`)."""
        self.groups = 0
        """How many groups were committed (or tried): with `commands`, how well commands are grouped."""
        self.commands = 0

    async def run(self, work: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """`work(*args, **kwargs)` on the writer thread, in a group with whatever else is queued; its result, or
        its error, back on the loop once the group is committed."""
        loop = asyncio.get_running_loop()
        command = _Command(functools.partial(work, *args, **kwargs), loop, loop.create_future())
        self._start()
        self._queue.put(command)
        result: T = await command.future
        return result

    def on_its_thread(self) -> bool:
        """Whether the caller is the writer's thread."""
        return self._thread is not None and threading.current_thread() is self._thread

    def close(self) -> None:
        """Lets the queued commands finish, then stops the thread; a later `run` starts a new one."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(_STOP)
            thread.join()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="ledger-writer", daemon=True)
                self._thread.start()

    def _serve(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            group = [first]
            stopping = False
            while len(group) < self.max_group:
                try:
                    queued = self._queue.get_nowait()
                except queue.Empty:
                    break
                if queued is _STOP:
                    stopping = True
                    break
                group.append(queued)
            self._run(group)
            if self.after_group is not None:
                self.after_group()
            if stopping:
                return

    def _run(self, group: list[_Command]) -> None:
        self.groups += 1
        self.commands += len(group)
        try:
            with self.ledger.writing_in_group(), self.group_commit.group():
                for command in group:
                    self._run_one(command)
        except Exception as failed:  # the group could not begin or commit: nothing of it is stored
            if not self._landed(group, failed):
                for command in group:
                    if command.error is None:
                        command.error = failed
        for command in group:
            command.answer()

    def _run_one(self, command: _Command) -> None:
        command.ran = True
        try:
            command.result = command.work()
        except BaseException as error:  # answered to its caller alone; its savepoint is already rolled back
            command.error = error
            self.ledger.forget_cached_aggregates()  # in case it read back events of its own that were undone

    def _landed(self, group: list[_Command], failed: Exception) -> bool:
        """Whether a COMMIT that failed for want of the store stored the group all the same (its acknowledgement
        was lost): the position a command was given exists (PostgreSQL's positions are never given twice)."""
        if not self.group_commit.acknowledgement_can_be_lost or not isinstance(
            failed, (InterfaceError, OperationalError)
        ):
            return False
        stored = [command for command in group if command.error is None and command.ran]
        position = next((getattr(command.result, "position", None) for command in stored), None)
        if position is None:
            return False
        try:
            found = self.ledger.recorder.select_notifications(start=position, limit=1, stop=position)
        except (InterfaceError, OperationalError):
            return False  # still unknown: each caller hears the store failed; a keyed retry learns the truth
        if found:
            log.warning("A group's COMMIT lost its acknowledgement; its %d commands are stored", len(stored))
        return bool(found)
