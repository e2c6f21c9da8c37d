"""The API scenarios of `ledger bench`: the ledger's routes under a bounded loopback load, beside a bare FastAPI
app served the same way, in the same run.

Each scenario is driven by wrk (one thread, CONCURRENCY connections) when it is installed, else by a Python load
generator, which shares the cores with the server and cannot saturate the bare routes (its ratios mean little).
Only 2xx responses count as throughput; every other answer, and every socket error, is counted apart by kind.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import httpx
from fastapi import FastAPI

from domain.values import Role
from infrastructure.bootstrap import build_system
from infrastructure.settings import Settings

CONCURRENCY = 16
RELATIONSHIPS = 256
"""Commands and reads spread over this many relationships, as a firm's would: with only as many relationships as
connections, most commands would meet another on the same relationship and retry."""
SETTLE_TIMEOUT = 120.0
"""Seconds to wait, between scenarios, for the projections to catch up with the commands just sent."""

BARE_ASYNC = "bare async"
BARE_SYNC = "bare sync"
COMMAND = "command"
KEYED_COMMAND = "keyed command"
WORKLOAD = "workload"
RELATIONSHIP = "relationship"
MIXED = "mixed"
BASELINES = (BARE_ASYNC, BARE_SYNC)
LEDGER_SCENARIOS = (COMMAND, KEYED_COMMAND, WORKLOAD, RELATIONSHIP, MIXED)
"""The scenarios in the order they run: the writes first, so the reads meet relationships with some history."""


def bare_app() -> FastAPI:
    """The baselines: FastAPI answering a constant, with nothing of the ledger behind it, from an `async def`
    route (the fastest honest baseline) and from a plain `def` route (run in the thread pool)."""
    app = FastAPI()

    @app.get("/bare")
    async def bare() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/bare-sync")
    def bare_sync() -> dict[str, str]:
        return {"status": "ok"}

    return app


@dataclass(frozen=True)
class Call:
    """One request a scenario sends; a keyed call carries an `Idempotency-Key` never sent before."""

    method: str
    path: str
    body: str | None = None
    keyed: bool = False


@dataclass(frozen=True)
class Scenario:
    """A load: the `pattern` names the stream each next request comes from; each stream rotates through its calls."""

    name: str
    streams: tuple[tuple[Call, ...], ...]
    pattern: tuple[int, ...] = (0,)

    def calls(self) -> Iterator[Call]:
        """The calls in the order the load sends them (the wrk script below makes the same choice)."""
        turns = [0] * len(self.streams)
        for stream in itertools.cycle(self.pattern):
            calls = self.streams[stream]
            yield calls[turns[stream] % len(calls)]
            turns[stream] += 1


@dataclass(frozen=True)
class Load:
    """What a scenario's load got back: answers by the second, their latency, and its failures by kind."""

    responses: int
    """Requests answered, whatever the status."""
    seconds: float
    p50_ms: float
    p99_ms: float
    failures: dict[str, int] = field(default_factory=dict)
    """Answers outside 2xx by status ("409"), and requests never answered by cause ("timeout", "ReadError")."""

    @property
    def errors(self) -> int:
        return sum(self.failures.values())

    @property
    def ok(self) -> int:
        """The 2xx answers: the only ones counted as throughput."""
        return self.responses - sum(count for kind, count in self.failures.items() if kind.isdigit())

    @property
    def per_second(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def describe_failures(self) -> str:
        return ", ".join(f"{kind} x{count:,}" for kind, count in sorted(self.failures.items()))


@dataclass(frozen=True)
class ApiRun:
    """Every scenario's load from one run: the baselines and the ledger's, driven by the same generator."""

    loads: dict[str, Load]
    driver: str
    """"wrk", or "python" when wrk is not installed."""
    seconds: float
    workers: int
    baseline_rounds: dict[str, tuple[Load, ...]] = field(default_factory=dict)
    """Each baseline's rounds, before and after the ledger's scenarios; `loads` holds the faster."""


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


def drive(base: str, scenario: Scenario, authorization: str, count: int, max_seconds: float) -> Load:
    """Sends `count` requests from CONCURRENCY loopback connections (stopping early after `max_seconds`)."""
    prefix = uuid.uuid4().hex
    calls = scenario.calls()

    async def run() -> Load:
        latencies: list[float] = []
        failures: Counter[str] = Counter()
        issued = 0
        deadline = time.monotonic() + max_seconds

        async def worker(client: httpx.AsyncClient) -> None:
            nonlocal issued
            while issued < count and time.monotonic() < deadline:
                number, call = issued, next(calls)
                issued += 1
                headers = {"Authorization": authorization, "Content-Type": "application/json"}
                if call.keyed:
                    headers["Idempotency-Key"] = f"{prefix}-{number}"
                request = client.build_request(call.method, call.path, headers=headers, content=call.body)
                started = time.perf_counter()
                try:
                    response = await client.send(request)
                except httpx.TransportError as error:
                    failures[type(error).__name__] += 1
                    continue
                latencies.append(time.perf_counter() - started)
                if not 200 <= response.status_code < 300:
                    failures[str(response.status_code)] += 1

        limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
            started = time.perf_counter()
            await asyncio.gather(*(worker(client) for _ in range(CONCURRENCY)))
            elapsed = time.perf_counter() - started
        latencies.sort()
        if not latencies:
            return Load(responses=0, seconds=elapsed, p50_ms=0.0, p99_ms=0.0, failures=dict(failures))
        return Load(
            responses=len(latencies),
            seconds=elapsed,
            p50_ms=statistics.median(latencies) * 1000,
            p99_ms=latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
            failures=dict(failures),
        )

    return asyncio.run(run())


WRK_SCRIPT = """
local streams = {STREAMS}
local pattern = {PATTERN}
local prefix = "{PREFIX}"
local headers = {["Authorization"] = "{AUTHORIZATION}", ["Content-Type"] = "application/json"}
local turns = {}
for stream = 1, #streams do turns[stream] = 0 end
local counter = 0
local threads = {}
thread_number = 0
failures = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end

-- the same choice as Scenario.calls: the pattern names the stream, each stream rotates through its calls
function request()
  local stream = pattern[(counter % #pattern) + 1]
  local calls = streams[stream]
  local call = calls[(turns[stream] % #calls) + 1]
  turns[stream] = turns[stream] + 1
  counter = counter + 1
  if call[4] then
    headers["Idempotency-Key"] = prefix .. "-" .. thread_number .. "-" .. counter
  else
    headers["Idempotency-Key"] = nil
  end
  return wrk.format(call[1], call[2], headers, call[3])
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    failures[status] = (failures[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("failures")) do
      io.write(string.format("bench-failure %d %d\\n", status, count))
    end
  end
  local errors = summary.errors
  io.write(string.format("bench-failure connect %d\\n", errors.connect))
  io.write(string.format("bench-failure read %d\\n", errors.read))
  io.write(string.format("bench-failure write %d\\n", errors.write))
  io.write(string.format("bench-failure timeout %d\\n", errors.timeout))
end
"""


def _lua_text(text: str | None) -> str:
    """A Lua long-bracket string literal (no escapes inside), or nil."""
    if text is None:
        return "nil"
    assert "]==]" not in text, text
    return f"[==[{text}]==]"


def wrk_script(scenario: Scenario, authorization: str, prefix: str) -> str:
    """The Lua script that makes wrk send `scenario`, fresh keys made from `prefix`, the thread and a counter."""
    streams = ", ".join(
        "{"
        + ", ".join(
            f"{{{_lua_text(c.method)}, {_lua_text(c.path)}, {_lua_text(c.body)}, {'true' if c.keyed else 'false'}}}"
            for c in calls
        )
        + "}"
        for calls in scenario.streams
    )
    assert '"' not in authorization + prefix
    return (
        WRK_SCRIPT.replace("{STREAMS}", "{" + streams + "}")
        .replace("{PATTERN}", "{" + ", ".join(str(stream + 1) for stream in scenario.pattern) + "}")
        .replace("{PREFIX}", prefix)
        .replace("{AUTHORIZATION}", authorization)
    )


def drive_wrk(base: str, scenario: Scenario, authorization: str, seconds: float) -> Load:
    """The same load from wrk (one thread, CONCURRENCY connections): far lighter than Python."""
    script = wrk_script(scenario, authorization, prefix=uuid.uuid4().hex)
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        lua.write(script)
        lua.flush()
        output = subprocess.run(  # noqa: S603
            [
                shutil.which("wrk") or "wrk",
                "-t1",
                f"-c{CONCURRENCY}",
                f"-d{max(1, round(seconds))}s",
                "--latency",
                "-s",
                lua.name,
                base,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    return parse_wrk(output, seconds)


def parse_wrk(output: str, seconds: float) -> Load:
    """wrk's summary, with the failures the script's `done` printed."""

    def latency(percent: str) -> float:
        match = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        if match is None:  # no request was answered: wrk prints no distribution
            return 0.0
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    answered = re.search(r"(\d+) requests in", output)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if answered is None or rate is None:
        msg = f"wrk printed no summary:\n{output}"
        raise RuntimeError(msg)
    responses, per_second = int(answered.group(1)), float(rate.group(1))
    failures = {
        kind: int(count)
        for kind, count in re.findall(r"^bench-failure (\S+) (\d+)$", output, re.MULTILINE)
        if int(count) > 0
    }
    return Load(
        responses=responses,
        seconds=responses / per_second if per_second else seconds,
        p50_ms=latency("50"),
        p99_ms=latency("99"),
        failures=failures,
    )


def run_load(base: str, scenario: Scenario, authorization: str, *, driver: str, seconds: float, count: int) -> Load:
    if driver == "wrk":
        return drive_wrk(base, scenario, authorization, seconds)
    return drive(base, scenario, authorization, count, seconds)


def ledger_scenarios(relationships: list[str], occurred_at: str) -> list[Scenario]:
    """Log a contact, the same keyed, `GET /v1/workload`, `GET /v1/relationships/{id}`, and one command to four
    reads (two of a relationship, two of the workload), each spread over the relationships."""
    body = json.dumps({"occurred_at": occurred_at, "channel": "call", "summary": "A call"})
    contacts = tuple(Call("POST", f"/v1/relationships/{r}/contacts", body) for r in relationships)
    keyed = tuple(replace(call, keyed=True) for call in contacts)
    reads = tuple(Call("GET", f"/v1/relationships/{r}") for r in relationships)
    workload = (Call("GET", "/v1/workload"),)
    scenarios = [
        Scenario(COMMAND, (contacts,)),
        Scenario(KEYED_COMMAND, (keyed,)),
        Scenario(WORKLOAD, (workload,)),
        Scenario(RELATIONSHIP, (reads,)),
        Scenario(MIXED, (contacts, reads, workload), pattern=(0, 1, 2, 1, 2)),
    ]
    assert tuple(scenario.name for scenario in scenarios) == LEDGER_SCENARIOS
    return scenarios


def open_book(client: httpx.Client, relationships: int) -> list[str]:
    """One account manager with `relationships` open relationships, through the API."""

    def created(response: httpx.Response) -> str:
        if response.status_code != 201:
            msg = f"{response.request.method} {response.request.url.path} answered {response.status_code}: "
            raise RuntimeError(msg + response.text)
        return str(response.json()["id"])

    manager = created(client.post("/v1/account-managers", json={"name": "Bench", "email": "b@example.com"}))
    relationship = {"client_kind": "corporate", "industry": "technology", "tier": "standard"}
    return [
        created(
            client.post(
                "/v1/relationships",
                json={**relationship, "client_name": f"Client {n}", "account_manager_id": manager},
            )
        )
        for n in range(relationships)
    ]


def settle(client: httpx.Client, relationship: str, occurred_at: str) -> None:
    """Waits until the projections have caught up with every command sent so far, so that no scenario pays for
    the one before it: one more command, then reads with its position as `min_position` until they answer."""
    sent = client.post(
        f"/v1/relationships/{relationship}/contacts",
        json={"occurred_at": occurred_at, "channel": "call", "summary": "Settling"},
    )
    if sent.status_code not in (200, 201):
        msg = f"the settling command answered {sent.status_code}: {sent.text}"
        raise RuntimeError(msg)
    position = sent.json()["position"]
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while True:  # each read waits on the server for up to 5 s before answering projection_lagging
        read = client.get("/v1/workload", params={"min_position": position})
        if read.status_code == 200:
            return
        if read.status_code != 503 or time.monotonic() > deadline:
            msg = f"the projections did not reach position {position}: {read.status_code} {read.text}"
            raise RuntimeError(msg)


def measure_api(
    settings: Settings, *, seconds: float, count: int, workers: int = 1, relationships: int = RELATIONSHIPS
) -> ApiRun:
    """The bare routes, the ledger's scenarios, then the bare routes again, each under the same load for `seconds`
    (or `count` requests from the Python generator), on the store of `settings`, served by `ledger serve --workers
    N`. Each baseline is the faster of its two rounds: noise from the machine's other work only ever slows a round."""
    system = build_system(settings, run_projections=False)
    token = system.tokens.issue(role=Role.MANAGER, name=f"bench-{uuid.uuid4().hex[:8]}").token
    system.close()
    authorization = f"Bearer {token}"
    env = {**os.environ, "LEDGER_DATABASE_URL": settings.database_url}
    driver = "wrk" if shutil.which("wrk") else "python"
    bare_routes = (
        Scenario(BARE_ASYNC, ((Call("GET", "/bare"),),)),
        Scenario(BARE_SYNC, ((Call("GET", "/bare-sync"),),)),
    )
    rounds: dict[str, list[Load]] = {name: [] for name in BASELINES}
    loads: dict[str, Load] = {}

    bare_port = free_port()
    bare = [
        sys.executable,
        "-c",
        f"import uvicorn; from scripts.bench_api import bare_app; "
        f"uvicorn.run(bare_app(), host='127.0.0.1', port={bare_port}, log_level='warning')",
    ]
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
    with serving(bare, env, bare_port) as bare_base:
        for scenario in bare_routes:
            rounds[scenario.name].append(run_load(bare_base, scenario, "", driver=driver, seconds=seconds, count=count))
        with (
            serving(ledger, env, port) as base,
            httpx.Client(base_url=base, headers={"Authorization": authorization}, timeout=30) as client,
        ):
            ids = open_book(client, relationships)
            occurred_at = datetime.now(UTC).isoformat()
            for scenario in ledger_scenarios(ids, occurred_at):
                settle(client, ids[0], occurred_at)
                loads[scenario.name] = run_load(
                    base, scenario, authorization, driver=driver, seconds=seconds, count=count
                )
        for scenario in bare_routes:  # the ledger's server stopped: the bare one alone again
            rounds[scenario.name].append(run_load(bare_base, scenario, "", driver=driver, seconds=seconds, count=count))
    baselines = {name: max(measured, key=lambda load: load.per_second) for name, measured in rounds.items()}
    return ApiRun(
        loads=baselines | loads,
        driver=driver,
        seconds=seconds,
        workers=workers,
        baseline_rounds={name: tuple(measured) for name, measured in rounds.items()},
    )
