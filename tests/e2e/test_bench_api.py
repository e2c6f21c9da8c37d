"""`ledger bench`'s API scenarios: the loads send what they say, errors stay apart from throughput, and every
scenario runs against a served ledger and is reported. No figure here is timed or judged: that is the bench's job."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI, Request, Response

from infrastructure.bootstrap import build_ledger
from infrastructure.settings import Settings
from scripts.bench import api_results, table
from scripts.bench_api import (
    BARE_ASYNC,
    BARE_SYNC,
    BASELINES,
    COMMAND,
    KEYED_COMMAND,
    LEDGER_SCENARIOS,
    MIXED,
    ApiRun,
    Call,
    Load,
    Scenario,
    drive,
    drive_wrk,
    free_port,
    measure_api,
)
from tests.e2e.test_served import ledger, ledger_env

Driver = Callable[[str, Scenario], Load]


def by_wrk(base: str, scenario: Scenario) -> Load:
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (apt-get install wrk)")
    return drive_wrk(base, scenario, "Bearer test", seconds=1)


def by_python(base: str, scenario: Scenario) -> Load:
    return drive(base, scenario, "Bearer test", count=200, max_seconds=10)


DRIVERS = [pytest.param(by_wrk, id="wrk"), pytest.param(by_python, id="python")]


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    key: str | None


@dataclass
class Recorder:
    """A loopback server that notes every request it gets and answers 409 to `/refused`, 200 to anything else."""

    base: str
    seen: list[Seen] = field(default_factory=list)


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    port = free_port()
    recorded = Recorder(base=f"http://127.0.0.1:{port}")
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "POST"])
    async def record(path: str, request: Request) -> Response:
        recorded.seen.append(Seen(request.method, f"/{path}", request.headers.get("idempotency-key")))
        return Response(status_code=409 if path == "refused" else 200)

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "the recording server stopped before it started"
        assert time.monotonic() < deadline, "the recording server did not start"
        time.sleep(0.01)
    try:
        yield recorded
    finally:
        server.should_exit = True
        thread.join(timeout=30)


MIXED_WITH_KEYS = Scenario(
    MIXED,
    (
        tuple(Call("POST", f"/commands/{n}", '{"n": 1}', keyed=True) for n in range(2)),
        tuple(Call("GET", f"/reads/{n}") for n in range(3)),
        (Call("GET", "/workload"),),
    ),
    pattern=(0, 1, 2, 1, 2),
)


@pytest.mark.parametrize("load", DRIVERS)
def test_a_keyed_load_sends_a_new_key_with_every_command_and_mixes_one_command_to_four_reads(
    recorder: Recorder, load: Driver
) -> None:
    # two runs one after the other: a key is never sent twice, within a run or across runs
    first = load(recorder.base, MIXED_WITH_KEYS)
    first_keys = [seen.key for seen in recorder.seen if seen.method == "POST"]
    second = load(recorder.base, MIXED_WITH_KEYS)
    keys = [seen.key for seen in recorder.seen if seen.method == "POST"]
    assert first.ok > 0
    assert second.ok > 0
    assert first.errors == second.errors == 0
    assert all(keys)
    assert len(set(keys)) == len(keys)
    assert len(keys) > len(first_keys)

    # the reads carry no key; every read path is visited; one request in five is a command
    reads = [seen for seen in recorder.seen if seen.method == "GET"]
    assert all(seen.key is None for seen in reads)
    assert {seen.path for seen in reads} == {"/reads/0", "/reads/1", "/reads/2", "/workload"}
    assert {seen.path for seen in recorder.seen if seen.method == "POST"} == {"/commands/0", "/commands/1"}
    in_flight_at_the_end = 2 * 16  # requests sent but never answered, at most one per connection per run
    assert abs(len(keys) * 5 - len(recorder.seen)) <= 5 * in_flight_at_the_end


@pytest.mark.parametrize("load", DRIVERS)
def test_answers_outside_2xx_are_counted_by_status_and_not_as_throughput(recorder: Recorder, load: Driver) -> None:
    half_refused = Scenario("half refused", ((Call("GET", "/accepted"), Call("GET", "/refused")),))
    result = load(recorder.base, half_refused)

    refused = result.failures["409"]
    assert set(result.failures) == {"409"}
    assert result.errors == refused
    assert result.ok == result.responses - refused
    assert abs(refused - result.ok) <= 16  # alternating requests; the unanswered ones at the end aside
    assert result.per_second == pytest.approx(result.ok / result.seconds)
    assert "409 x" in result.describe_failures()


def test_a_scenario_with_errors_misses_its_target_and_says_why() -> None:
    clean = Load(responses=1_000, seconds=1.0, p50_ms=1.0, p99_ms=2.0)
    refused = Load(responses=1_000, seconds=1.0, p50_ms=1.0, p99_ms=2.0, failures={"409": 990, "timeout": 3})
    loads = dict.fromkeys((*BASELINES, *LEDGER_SCENARIOS), clean) | {COMMAND: refused}
    results = {result.scenario: result for result in api_results(ApiRun(loads, "wrk", 1.0, 1), store="sqlite")}

    # the keyed command's 1,000 clean answers meet a 0.25 target; the command's 10 good ones do not meet 0.30
    assert results[f"api {KEYED_COMMAND}"].met is True
    command = results[f"api {COMMAND}"]
    assert command.met is False
    assert command.figures["requests_per_s"] == 10
    assert command.figures["errors"] == 993
    assert command.ratio == 0.01
    assert "409 x990" in command.note
    assert "timeout x3" in command.note
    assert "! command: 993 errors" in table(list(results.values()))


def test_every_api_scenario_runs_against_a_served_ledger_and_is_reported(database_url: str) -> None:
    settings = Settings(database_url=database_url)
    run = measure_api(settings, seconds=1, count=40, relationships=8)

    assert list(run.loads) == [*BASELINES, *LEDGER_SCENARIOS]
    for name in BASELINES:  # measured before and after the ledger's scenarios; the faster round is the baseline
        assert len(run.baseline_rounds[name]) == 2
        assert run.loads[name] == max(run.baseline_rounds[name], key=lambda load: load.per_second)
    for name, load in run.loads.items():
        assert load.ok > 0, name
        assert load.errors == 0, f"{name}: {load.describe_failures()}"
        assert load.p50_ms <= load.p99_ms, name

    # every keyed command stored a new event (a replayed key would store nothing): the log holds at least the
    # manager, the relationships, the settling commands, and each command answered 2xx
    ledger_app = build_ledger(settings)
    try:
        stored = ledger_app.recorder.max_notification_id() or 0
    finally:
        ledger_app.close()
    answered = run.loads[COMMAND].ok + run.loads[KEYED_COMMAND].ok
    assert stored >= 1 + 8 + len(LEDGER_SCENARIOS) + answered

    results = api_results(run, store="sqlite" if database_url.startswith("sqlite") else "postgres")
    assert [result.scenario for result in results] == [f"api {name}" for name in (*BASELINES, *LEDGER_SCENARIOS)]
    assert all(result.ratio_sync is not None for result in results if result.scenario != f"api {BARE_SYNC}")
    assert results[0].scenario == f"api {BARE_ASYNC}"
    printed = table(results)
    assert all(f"\n{name:<18}" in printed for name in (*BASELINES, *LEDGER_SCENARIOS))


def test_api_only_and_scaling_are_refused_together(tmp_path: Path) -> None:
    done = ledger(ledger_env(f"sqlite:///{tmp_path / 'ledger.sqlite3'}"), tmp_path, "bench", "--api-only", "--scaling")
    assert done.returncode == 1
    assert "--api-only and --scaling" in done.stderr
