"""A process started while PostgreSQL cannot be reached waits for it, then works; without patience it fails at once.

The database "comes back" for real: a TCP relay to the server starts listening on
the address the ledger was given, once the ledger has been refused at least once.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import socketserver
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from domain.commands import RegisterAccountManager
from domain.values import Role
from infrastructure.bootstrap import UNREACHABLE, System, build_system
from infrastructure.settings import Settings
from tests.conftest import audit_as
from tests.e2e.test_served import free_port
from tests.integration.projection_support import wait_until

pytestmark = pytest.mark.postgres


class _Relay(socketserver.BaseRequestHandler):
    """Copies bytes both ways between a client and the real server."""

    upstream: tuple[str, int]

    def handle(self) -> None:
        with socket.create_connection(self.upstream) as server:
            pump = threading.Thread(target=_copy, args=(server, self.request), daemon=True)
            pump.start()
            _copy(self.request, server)
            pump.join(timeout=5)


def _copy(source: socket.socket, target: socket.socket) -> None:
    with contextlib.suppress(OSError):  # either end closing ends the copy
        while chunk := source.recv(65536):
            target.sendall(chunk)
    for end in (source, target):
        with contextlib.suppress(OSError):
            end.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def relay_url(postgres_url: str) -> Iterator[tuple[str, threading.Event]]:
    """The test schema's URL on a port where nothing listens yet, and an event that makes the relay listen there."""
    parts = urlsplit(postgres_url)
    port = free_port()
    url = urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{port}"))
    handler = type("Relay", (_Relay,), {"upstream": (parts.hostname or "127.0.0.1", parts.port or 5432)})
    open_now = threading.Event()
    servers: list[socketserver.ThreadingTCPServer] = []

    def listen_when_told() -> None:
        open_now.wait()
        server = socketserver.ThreadingTCPServer(("127.0.0.1", port), handler)
        server.daemon_threads = True
        servers.append(server)
        server.serve_forever(poll_interval=0.05)

    listener = threading.Thread(target=listen_when_told, daemon=True)
    listener.start()
    yield url, open_now
    open_now.set()
    wait_until(lambda: bool(servers), timeout=10, what="the relay to start")
    servers[0].shutdown()
    servers[0].server_close()


def test_a_process_started_while_the_database_is_away_waits_for_it_and_then_serves(
    relay_url: tuple[str, threading.Event], caplog: pytest.LogCaptureFixture
) -> None:
    url, database_comes_back = relay_url
    built: list[System | BaseException] = []

    def start() -> None:
        try:
            built.append(build_system(Settings(database_url=url), run_projections=False, patience=60))
        except BaseException as error:
            built.append(error)

    with caplog.at_level(logging.WARNING, logger="infrastructure.bootstrap"):
        starting = threading.Thread(target=start)
        starting.start()
        wait_until(lambda: "The store cannot be reached" in caplog.text, timeout=30, what="the first refused attempt")
        assert not built, "still waiting for the database"
        database_comes_back.set()
        starting.join(timeout=60)

    assert len(built) == 1
    system = built[0]
    assert isinstance(system, System), system
    try:
        audit = audit_as(Role.MANAGER)
        registered = system.ledger.register_account_manager(
            audit, RegisterAccountManager(name="Ada Byrne", email="ada@example.com")
        )
        assert system.ledger.account_manager(registered.id).name == "Ada Byrne"
    finally:
        system.close()


def test_without_patience_an_unreachable_database_fails_the_start_at_once(
    relay_url: tuple[str, threading.Event],
) -> None:
    url, _ = relay_url
    with pytest.raises(UNREACHABLE):
        build_system(Settings(database_url=url), run_projections=False)
