"""The ledger as it is run: `ledger serve` in its own process, `ledger tokens add` beside it, real HTTP between."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import LEDGER
from tests.e2e.conftest import Json, assert_problem, bearer, contact_body, relationship_body

STARTUP_TIMEOUT = 60.0
SHUTDOWN_TIMEOUT = 30.0


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def ledger_env(database_url: str) -> dict[str, str]:
    return {**os.environ, "LEDGER_DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"}


def ledger(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Runs one `ledger` command to completion."""
    return subprocess.run(  # noqa: PLW1510 - callers check the status themselves
        [str(LEDGER), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def add_token(env: dict[str, str], cwd: Path, role: str, name: str, account_manager_id: str | None = None) -> str:
    """`ledger tokens add`, and the token it prints as its last line."""
    extra = ["--account-manager-id", account_manager_id] if account_manager_id else []
    done = ledger(env, cwd, "tokens", "add", "--role", role, "--name", name, *extra)
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip().splitlines()[-1]
    assert token.startswith("ldg_")
    return token


@dataclass
class Server:
    """A running `ledger serve` and how to reach it."""

    process: subprocess.Popen[bytes]
    base_url: str
    env: dict[str, str]
    cwd: Path
    stdout: Path
    stderr: Path

    def output(self) -> str:
        return self.stdout.read_text()

    def wait_until_healthy(self) -> Json:
        """Polls GET /health until it answers 200, failing if the process dies or the deadline passes."""
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"ledger serve exited with {self.process.returncode}: {self.stderr.read_text()[-2000:]}")
            try:
                response = httpx.get(f"{self.base_url}/health", timeout=2)
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code == 200:
                body: Json = response.json()
                return body
            if time.monotonic() > deadline:
                pytest.fail(
                    f"ledger serve was not healthy within {STARTUP_TIMEOUT} s: {self.stderr.read_text()[-2000:]}"
                )
            time.sleep(0.1)

    def stop(self) -> int:
        """SIGTERM, then waits for the process to exit; returns its status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=SHUTDOWN_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=SHUTDOWN_TIMEOUT)
            pytest.fail("ledger serve did not stop within 30 s of SIGTERM")


def start_server(database_url: str, cwd: Path, *args: str) -> Server:
    port = free_port()
    env = ledger_env(database_url)
    stdout, stderr = cwd / "serve.out", cwd / "serve.err"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [str(LEDGER), "serve", "--host", "127.0.0.1", "--port", str(port), *args],
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=err,
        )
    return Server(process, f"http://127.0.0.1:{port}", env, cwd, stdout, stderr)


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[Server]:
    """`ledger serve` on a fresh store (a temporary SQLite file, or a fresh PostgreSQL schema), stopped afterwards."""
    server = start_server(database_url, tmp_path)
    try:
        yield server
    finally:
        server.stop()


def test_a_served_ledger_answers_commands_reads_and_errors_over_real_http(served: Server, database_url: str) -> None:
    health = served.wait_until_healthy()
    assert health["status"] == "ok"
    assert health["store"] == ("postgresql" if database_url.startswith("postgresql") else "sqlite")

    # Tokens made by separate `ledger tokens add` processes while the server runs are usable at once.
    manager = bearer(add_token(served.env, served.cwd, "manager", "served-manager"))
    auditor = bearer(add_token(served.env, served.cwd, "auditor", "served-auditor"))
    with httpx.Client(base_url=served.base_url, timeout=10) as http:
        # A command, with the caller's correlation id echoed.
        registered = http.post(
            "/v1/account-managers",
            json={"name": "Served Sam", "email": "sam@example.com"},
            headers={**manager, "X-Correlation-ID": "served-register-1"},
        )
        assert registered.status_code == 201
        assert registered.headers["X-Correlation-ID"] == "served-register-1"
        assert registered.headers["ETag"] == '"1"'
        sam = registered.json()

        # A read of the views that waits for that command.
        listed = http.get("/v1/account-managers", params={"min_position": sam["position"]}, headers=manager)
        assert listed.status_code == 200
        assert int(listed.headers["X-Projection-Position"]) >= sam["position"]
        assert [item["id"] for item in listed.json()["items"]] == [sam["id"]]

        # An account manager's token, made after the manager exists, writes under its own name and request id.
        as_sam = bearer(add_token(served.env, served.cwd, "account_manager", "served-sam", sam["id"]))
        correlation_id = f"served-{uuid.uuid4().hex}"
        opened = http.post(
            "/v1/relationships",
            json=relationship_body(sam["id"], client_name="Served Client"),
            headers={**as_sam, "X-Correlation-ID": correlation_id},
        )
        assert opened.status_code == 201
        assert opened.headers["X-Correlation-ID"] == correlation_id
        relationship_id = opened.json()["id"]
        (event,) = http.get(f"/v1/relationships/{relationship_id}/events", headers=as_sam).json()["items"]
        assert (event["correlation_id"], event["actor_id"], event["actor_role"]) == (
            correlation_id,
            "served-sam",
            "account_manager",
        )
        workload = http.get(
            f"/v1/account-managers/{sam['id']}/workload",
            params={"min_position": opened.json()["position"]},
            headers=as_sam,
        )
        assert (workload.status_code, workload.json()["active_relationships"]) == (200, 1)

        # 401, 403, 409 and 422, each as problem+json.
        no_token = http.get("/v1/workload")
        assert_problem(no_token, 401, "unauthenticated")
        assert no_token.headers["X-Correlation-ID"]
        assert_problem(
            http.post("/v1/account-managers", json={"name": "X", "email": "x@example.com"}, headers=auditor),
            403,
            "forbidden",
        )
        closed = http.post(f"/v1/relationships/{relationship_id}/closure", json={"reason": "Done"}, headers=manager)
        assert closed.status_code == 200
        assert_problem(
            http.post(f"/v1/relationships/{relationship_id}/contacts", json=contact_body(), headers=manager),
            409,
            "rule_violation",
        )
        assert_problem(
            http.put(f"/v1/account-managers/{sam['id']}/quotas/2026", json={"amount": 1000}, headers=manager),
            422,
            "validation_error",
        )
        metrics = http.get("/metrics", headers=auditor)
        assert metrics.status_code == 200
        assert re.search(r"^ledger_events_appended_total 3\.0$", metrics.text, re.MULTILINE)

    assert_stopped_gracefully(served, served.stop())


def test_a_token_for_an_unknown_account_manager_is_refused_with_a_one_line_reason(
    sqlite_url: str, tmp_path: Path
) -> None:
    done = ledger(
        ledger_env(sqlite_url),
        tmp_path,
        "tokens",
        "add",
        "--role",
        "account_manager",
        "--name",
        "ghost",
        "--account-manager-id",
        str(uuid.uuid4()),
    )

    assert done.returncode == 1
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith("ledger: ")


def test_ledger_serve_demo_prints_one_token_per_role_and_serves_the_seeded_managers(
    sqlite_url: str, tmp_path: Path
) -> None:
    server = start_server(sqlite_url, tmp_path, "--demo")
    try:
        server.wait_until_healthy()
        printed = dict(re.findall(r"^\s+(\w+)\s+(ldg_\S+)$", server.output(), re.MULTILINE))

        assert set(printed) == {"account_manager", "manager", "compliance", "auditor", "admin"}
        with httpx.Client(base_url=server.base_url, timeout=10) as http:
            managers = http.get("/v1/account-managers", params={"limit": 500}, headers=bearer(printed["manager"]))
            rows = http.get("/v1/workload", headers=bearer(printed["manager"])).json()
            own_rows = http.get("/v1/workload", headers=bearer(printed["account_manager"])).json()
            for role, token in printed.items():
                metrics_for_role = http.get("/metrics", headers=bearer(token))
                assert metrics_for_role.status_code == 200, role

        assert managers.status_code == 200
        assert len(managers.json()["items"]) == 8
        active = {item["id"]: item["name"] for item in managers.json()["items"] if item["active"]}
        assert {row["account_manager_id"]: row["name"] for row in rows} == active
        assert sum(row["active_relationships"] for row in rows) > 0
        assert len(own_rows) == 1
        assert own_rows[0]["account_manager_id"] in active
    finally:
        status = server.stop()
    assert_stopped_gracefully(server, status)


def assert_stopped_gracefully(server: Server, status: int) -> None:
    """The server finished its requests and its application shutdown after SIGTERM.

    Its exit status is checked on its own (see the xfail below): uvicorn re-raises the signal once it has shut
    down, so today the process dies of SIGTERM.
    """
    assert status in (0, -signal.SIGTERM)
    log = server.stderr.read_text()
    assert "Application shutdown complete." in log
    assert "Finished server process" in log


def test_ledger_serve_stopped_by_sigterm_closes_the_ledger_and_exits_zero(sqlite_url: str, tmp_path: Path) -> None:
    server = start_server(sqlite_url, tmp_path)
    server.wait_until_healthy()

    status = server.stop()

    assert status == 0


def in_flight(server: Server, headers: dict[str, str]) -> float:
    """The server's own count of requests being answered, not counting the one that asks."""
    text = httpx.get(f"{server.base_url}/metrics", headers=headers, timeout=5).text
    match = re.search(r"^ledger_http_requests_in_flight (\S+)$", text, re.MULTILINE)
    assert match is not None, "the in-flight gauge is exported"
    return float(match.group(1)) - 1


def test_sigterm_lets_a_request_in_flight_finish_with_its_whole_answer(database_url: str, tmp_path: Path) -> None:
    # No projections anywhere: a written position stays unreached.
    server = start_server(database_url, tmp_path, "--no-projections")
    server.wait_until_healthy()
    headers = bearer(add_token(server.env, server.cwd, "manager", "graceful-manager"))
    answers: list[httpx.Response] = []
    written = httpx.post(
        f"{server.base_url}/v1/account-managers",
        json={"name": "Ann Lee", "email": "ann.graceful@example.com"},
        headers=headers,
        timeout=30,
    ).json()["position"]

    def slow_read() -> None:
        # A read that waits for a position the views never reach: the server answers 503 after its wait.
        answers.append(
            httpx.get(f"{server.base_url}/v1/workload", params={"min_position": written}, headers=headers, timeout=30)
        )

    reader = threading.Thread(target=slow_read)
    try:
        reader.start()
        deadline = time.monotonic() + 10
        while in_flight(server, headers) < 1:
            assert time.monotonic() < deadline, "the slow read never reached the server"
            time.sleep(0.02)
        server.process.send_signal(signal.SIGTERM)
        reader.join(timeout=30)
        status = server.process.wait(timeout=SHUTDOWN_TIMEOUT)
    finally:
        server.stop()

    assert len(answers) == 1, "the request in flight was answered, not cut off"
    assert_problem(answers[0], 503, "projection_lagging")
    assert status == 0
    assert "Waiting for connections to close" in server.stderr.read_text()
