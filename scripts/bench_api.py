"""The API scenario of `ledger bench`: a command route and `GET /workload` under a bounded loopback load,
beside a bare FastAPI route served the same way, in the same run."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from fastapi import FastAPI

from domain.values import Role
from infrastructure.bootstrap import build_system
from infrastructure.settings import Settings

CONCURRENCY = 16
RELATIONSHIPS = 256
"""Commands spread over this many relationships, as a firm's would: with only as many relationships as
connections, most commands would meet another on the same relationship and retry."""


def bare_app() -> FastAPI:
    """The baseline: FastAPI answering a constant, with nothing of the ledger behind it."""
    app = FastAPI()

    @app.get("/bare")
    def bare() -> dict[str, str]:
        return {"status": "ok"}

    return app


@dataclass(frozen=True)
class Load:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(command: list[str], env: dict[str, str], port: int) -> Iterator[str]:
    """A server subprocess on a loopback port, waited for until it answers, stopped afterwards."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                msg = f"server {command} did not start"
                raise RuntimeError(msg)
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def drive(base: str, make_request: Callable[[int], httpx.Request], count: int, max_seconds: float) -> Load:
    """Sends `count` requests from CONCURRENCY loopback connections (stopping early after `max_seconds`)."""

    async def run() -> Load:
        latencies: list[float] = []
        errors = 0
        issued = 0
        deadline = time.monotonic() + max_seconds

        async def worker(client: httpx.AsyncClient) -> None:
            nonlocal issued, errors
            while issued < count and time.monotonic() < deadline:
                number = issued
                issued += 1
                started = time.perf_counter()
                response = await client.send(make_request(number))
                latencies.append(time.perf_counter() - started)
                errors += response.status_code >= 400

        limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
            started = time.perf_counter()
            await asyncio.gather(*(worker(client) for _ in range(CONCURRENCY)))
            elapsed = time.perf_counter() - started
        latencies.sort()
        return Load(
            requests=len(latencies),
            seconds=elapsed,
            p50_ms=statistics.median(latencies) * 1000,
            p99_ms=latencies[int(len(latencies) * 0.99) - 1] * 1000,
            errors=errors,
        )

    return asyncio.run(run())


WRK_SCRIPT = """
local paths = {PATHS}
local counter = 0
wrk.method = "{METHOD}"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "{AUTHORIZATION}"
request = function()
  counter = counter + 1
  return wrk.format(nil, paths[(counter % #paths) + 1], nil, {BODY})
end
"""


def drive_wrk(method: str, urls: list[str], body: str | None, authorization: str, seconds: float) -> Load:
    """The same load from wrk (one thread, CONCURRENCY connections), when it is installed: far lighter than Python."""
    import re
    import tempfile

    base = urls[0].split("/", 3)
    paths = "{" + ", ".join(f'"/{url.split("/", 3)[3]}"' for url in urls) + "}"
    script = (
        WRK_SCRIPT.replace("{PATHS}", paths)
        .replace("{METHOD}", method)
        .replace("{AUTHORIZATION}", authorization)
        .replace("{BODY}", "nil" if body is None else "[[" + body + "]]")
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        lua.write(script)
        lua.flush()
        output = subprocess.run(  # noqa: S603
            [
                shutil.which("wrk") or "wrk",
                "-t1",
                f"-c{CONCURRENCY}",
                f"-d{max(1, int(seconds))}s",
                "--latency",
                "-s",
                lua.name,
                f"{base[0]}//{base[2]}",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    def latency(percent: str) -> float:
        match = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        assert match is not None, output
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return Load(
        requests=requests,
        seconds=requests / rate if rate else seconds,
        p50_ms=latency("50"),
        p99_ms=latency("99"),
        errors=int(non_2xx.group(1)) if non_2xx else 0,
    )


def measure_api(settings: Settings, *, count: int, max_seconds: float, workers: int = 1) -> dict[str, Load]:
    """The bare route, a command route (log a contact) and GET /workload, each under the same load."""
    system = build_system(settings, run_projections=False)
    token = system.tokens.issue(role=Role.MANAGER, name=f"bench-{uuid.uuid4().hex[:8]}").token
    system.close()
    headers = {"Authorization": f"Bearer {token}"}
    env = {**os.environ, "LEDGER_DATABASE_URL": settings.database_url}
    results: dict[str, Load] = {}

    port = free_port()
    bare = [
        sys.executable,
        "-c",
        f"import uvicorn; from scripts.bench_api import bare_app; "
        f"uvicorn.run(bare_app(), host='127.0.0.1', port={port}, log_level='warning')",
    ]
    use_wrk = shutil.which("wrk") is not None
    with serving(bare, env, port) as base:
        if use_wrk:
            results["bare"] = drive_wrk("GET", [f"{base}/bare"], None, "", max_seconds)
        else:
            results["bare"] = drive(base, lambda _: httpx.Request("GET", f"{base}/bare"), count, max_seconds)

    port = free_port()
    ledger = [
        sys.executable,
        "-c",
        "from scripts.cli import main; main()",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    with serving(ledger, env, port) as base:
        manager = httpx.post(
            f"{base}/v1/account-managers", json={"name": "Bench", "email": "b@example.com"}, headers=headers
        ).json()["id"]
        relationships = [
            httpx.post(
                f"{base}/v1/relationships",
                headers=headers,
                json={
                    "client_name": f"Client {n}",
                    "client_kind": "corporate",
                    "industry": "technology",
                    "tier": "standard",
                    "account_manager_id": manager,
                },
            ).json()["id"]
            for n in range(RELATIONSHIPS)
        ]
        now = datetime.now(UTC).isoformat()

        def contact(number: int) -> httpx.Request:
            return httpx.Request(
                "POST",
                f"{base}/v1/relationships/{relationships[number % RELATIONSHIPS]}/contacts",
                headers=headers,
                json={"occurred_at": now, "channel": "call", "summary": f"Call {number}"},
            )

        if use_wrk:
            body = '{"occurred_at": "' + now + '", "channel": "call", "summary": "A call"}'
            urls = [f"{base}/v1/relationships/{r}/contacts" for r in relationships]
            results["command"] = drive_wrk("POST", urls, body, headers["Authorization"], max_seconds)
            results["workload"] = drive_wrk("GET", [f"{base}/v1/workload"], None, headers["Authorization"], max_seconds)
        else:
            results["command"] = drive(base, contact, count, max_seconds)
            results["workload"] = drive(
                base, lambda _: httpx.Request("GET", f"{base}/v1/workload", headers=headers), count, max_seconds
            )
    return results
