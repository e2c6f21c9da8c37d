"""The many-process set-up of SCALING.md, run for real on loopback: API workers, projection processes, PostgreSQL.

`Cluster` starts `ledger serve --workers N --no-projections` and `ledger
projections run` processes against one PostgreSQL schema, and can hurt them:
kill a projection process or an API worker with SIGKILL, restart PostgreSQL.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import IN_CI, LEDGER, POSTGRES_ADMIN_URL
from tests.e2e.test_served import add_token, free_port, ledger_env

STARTUP_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0


def postgres_cluster() -> tuple[str, str]:
    """The local server's (version, name), for `pg_ctlcluster`."""
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    return (versions[-1] if versions else ""), "main"


def require_restartable_postgres() -> None:
    """These tests restart the server: they need `pg_ctlcluster` and the right to run it (CI has both)."""
    version, _ = postgres_cluster()
    reason = None
    if shutil.which("pg_ctlcluster") is None or not version:
        reason = "pg_ctlcluster and /etc/postgresql are needed to restart PostgreSQL"
    elif os.geteuid() != 0:
        reason = "restarting PostgreSQL with pg_ctlcluster needs root"
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"{reason}, and CI=true forbids skipping")
    pytest.skip(reason)


def server_started_at() -> str:
    """When the PostgreSQL server now running started: it changes exactly when the server restarts."""
    with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=5) as conn:
        row = conn.execute("SELECT pg_postmaster_start_time()::text").fetchone()
    assert row is not None
    return str(row[0])


def restart_postgres() -> None:
    """`pg_ctlcluster … restart` (fast mode: open sessions are cut), returning once the server answers again."""
    version, name = postgres_cluster()
    before = server_started_at()
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "restart", "--mode", "fast"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    deadline = time.monotonic() + 60
    while True:
        with contextlib.suppress(psycopg.OperationalError):
            if server_started_at() != before:
                return
        if time.monotonic() > deadline:
            raise AssertionError("PostgreSQL did not come back within 60 s of its restart")
        time.sleep(0.1)


def children(pid: int) -> list[int]:
    """The direct child processes of `pid` (from /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):
            found.extend(int(child) for child in (task / "children").read_text().split())
    return found


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""


@dataclass
class Cluster:
    """One PostgreSQL schema served by an API of several workers and followed by several projection processes."""

    database_url: str
    folder: Path
    workers: int = 4
    projection_processes: int = 2
    port: int = field(default_factory=free_port)
    api: subprocess.Popen[bytes] | None = None
    followers: list[subprocess.Popen[bytes] | None] = field(default_factory=list)
    restarts: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {
            **ledger_env(self.database_url),
            "LEDGER_SIGNING_KEY": str(self.folder / "signing-key.pem"),
            "LEDGER_SEAL_EVERY": "200",
            "LEDGER_SHUTDOWN_TIMEOUT": "10",
        }

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = self.folder / f"{name}.log"
        with log.open("ab") as out:
            return subprocess.Popen([str(LEDGER), *args], env=self.env, cwd=self.folder, stdout=out, stderr=out)

    def start(self) -> Cluster:
        # The ledger's tables exist before the processes race to use them.
        done = subprocess.run(
            [str(LEDGER), "seal"], check=False, env=self.env, cwd=self.folder, capture_output=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        self.api = self._spawn(
            "api",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--no-projections",
        )
        self.followers = [
            self._spawn(f"projections-{n}", "projections", "run") for n in range(self.projection_processes)
        ]
        self.wait_until_serving()
        return self

    def token(self, role: str, name: str) -> str:
        return add_token(self.env, self.folder, role, name)

    def wait_until_serving(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """Until every worker is up (each answers /health) and the projection processes are alive."""
        deadline = time.monotonic() + timeout
        while True:
            assert self.api is not None
            if self.api.poll() is not None:
                pytest.fail(f"ledger serve exited with {self.api.returncode}: {self.log('api')[-3000:]}")
            for number, follower in enumerate(self.followers):
                if follower is not None and follower.poll() is not None:
                    pytest.fail(f"projections {number} exited: {self.log(f'projections-{number}')[-3000:]}")
            if len(self.api_workers()) == self.workers and self._healthy():
                return
            if time.monotonic() > deadline:
                pytest.fail(f"the cluster was not serving within {timeout} s: {self.log('api')[-3000:]}")
            time.sleep(0.1)

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.base_url}/health", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def api_workers(self) -> list[int]:
        """The pids of the uvicorn worker processes (not multiprocessing's resource tracker)."""
        assert self.api is not None
        return [
            pid
            for pid in children(self.api.pid)
            if "multiprocessing" in command_line(pid) and "resource_tracker" not in command_line(pid)
        ]

    def kill_api_worker(self) -> int:
        """SIGKILLs one API worker (uvicorn's supervisor starts another); returns its pid."""
        for victim in self.api_workers():
            try:
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:  # gone since it was listed: take the next
                continue
            return victim
        raise AssertionError("no API worker was running to be killed")

    def workers_died(self) -> int:
        """How many times uvicorn's supervisor found a worker dead (and started another)."""
        return self.log("api").count(" died")

    def kill_projection_process(self, number: int) -> None:
        follower = self.followers[number]
        assert follower is not None
        follower.kill()
        follower.wait(timeout=STOP_TIMEOUT)
        self.followers[number] = None

    def restart_projection_process(self, number: int) -> None:
        assert self.followers[number] is None, "kill it first"
        self.followers[number] = self._spawn(f"projections-{number}", "projections", "run")
        self.restarts += 1

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> dict[str, int | None]:
        """SIGTERM to everything, the API first, then each exit status (None: had to be killed)."""
        return self.stop_api() | self.stop_projections()

    def stop_api(self) -> dict[str, int | None]:
        return _terminate({"api": self.api})

    def stop_projections(self) -> dict[str, int | None]:
        return _terminate({f"projections-{n}": process for n, process in enumerate(self.followers)})


def _terminate(processes: dict[str, subprocess.Popen[bytes] | None]) -> dict[str, int | None]:
    """SIGTERM to each process still running, then each exit status (None: it had to be killed)."""
    for process in processes.values():
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
    statuses: dict[str, int | None] = {}
    for name, process in processes.items():
        if process is None:
            continue
        try:
            statuses[name] = process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)
            statuses[name] = None
    return statuses


@contextlib.contextmanager
def running_cluster(database_url: str, folder: Path, *, workers: int, projection_processes: int) -> Iterator[Cluster]:
    cluster = Cluster(database_url, folder, workers=workers, projection_processes=projection_processes)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
