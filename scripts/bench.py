"""`ledger bench`: each speed target measured as a ratio against a baseline in the same run.

These machines are shared and noisy, so each figure is the median of several
rounds, and every figure that has a target is a ratio of two things measured
side by side; the absolute numbers are printed beside it for reference.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from domain.application import Ledger
from domain.commands import LogContact, OpenRelationship, RegisterAccountManager
from domain.values import Audit, Principal, Role
from infrastructure.bootstrap import build_ledger, build_projections
from infrastructure.group_commit import group_commit_for
from infrastructure.settings import Settings
from infrastructure.storage import AppendOnlyPostgresRecorder, library_env
from infrastructure.writer import Writer
from scripts.bench_api import (
    BARE_ASYNC,
    BARE_SYNC,
    BASELINES,
    COMMAND,
    KEYED_COMMAND,
    LEDGER_SCENARIOS,
    RELATIONSHIP,
    WORKLOAD,
    ApiRun,
    Load,
    measure_api,
)
from scripts.seed import SeedPlan, seed_ledger

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


@dataclass
class Result:
    """One scenario's figures: the ratio to its baseline, the absolute numbers, the target, and whether it is met."""

    scenario: str
    store: str
    ratio: float | None
    target: str
    met: bool | None
    figures: dict[str, float] = field(default_factory=dict)
    note: str = ""
    ratio_sync: float | None = None
    """For the API scenarios: the ratio to the bare sync route, beside `ratio` (to the bare async route)."""


@contextmanager
def fresh_store(postgres: bool) -> Iterator[Settings]:
    """A new, empty ledger database for one scenario, removed afterwards."""
    if not postgres:
        with tempfile.TemporaryDirectory(prefix="ledger-bench-") as folder:
            yield Settings(database_url=f"sqlite:///{Path(folder) / 'ledger.sqlite3'}")
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield Settings(database_url=f"{POSTGRES_ADMIN_URL}?schema={schema}")
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def bench_rebuild(*, events: int, rounds: int, postgres: bool) -> Result:
    """A from-scratch rebuild of every view against merely reading and decoding the same events."""
    with fresh_store(postgres) as settings:
        ledger = build_ledger(settings)
        seed_ledger(ledger, SeedPlan(managers=12, relationships=200, events=events, random_seed=7), progress=False)
        projections = build_projections(ledger, settings)
        total = projections.head()

        def read_and_decode() -> None:
            after = 0
            while items := projections.read(after, projections.batch_size):
                after = items[-1][0]

        read_times, rebuild_times = [], []
        for _ in range(rounds):
            read_times.append(timed(read_and_decode))
            rebuild_times.append(timed(projections.rebuild_from_scratch))
        ledger.close()
        peak_rss_mb = rebuild_peak_rss_mb(settings)
    read_rate = total / statistics.median(read_times)
    rebuild_rate = total / statistics.median(rebuild_times)
    ratio = rebuild_rate / read_rate
    return Result(
        scenario="rebuild",
        store="postgres" if postgres else "sqlite",
        ratio=round(ratio, 2),
        target=">= 0.50 of read + decode; peak RSS < 300 MB",
        met=ratio >= 0.5 and peak_rss_mb < 300,
        figures={
            "events": total,
            "read_decode_events_per_s": round(read_rate),
            "rebuild_events_per_s": round(rebuild_rate),
            "rebuild_peak_rss_mb": round(peak_rss_mb, 1),
        },
    )


def rebuild_peak_rss_mb(settings: Settings) -> float:
    """Peak resident memory of `ledger rebuild --from-scratch` run as its own process."""
    env = {**os.environ, "LEDGER_DATABASE_URL": settings.database_url}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run(
        [sys.executable, "-c", "from scripts.cli import main; main()", "rebuild", "--from-scratch"],
        env=env,
        check=True,
        capture_output=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(after, before) / 1024  # ru_maxrss is in KiB on Linux


class _BareRelationship(Aggregate):
    """The baseline aggregate: the library's own, dataclass events, no rules and no audit checks."""

    def __init__(self, name: str) -> None:
        self.name = name

    @event("ContactLogged")
    def log_contact(
        self, *, occurred_at: datetime, channel: str, summary: str, actor_id: str, actor_role: str, correlation_id: str
    ) -> None:
        self.last_contact_at = occurred_at


class _Bare(Application[UUID]):
    name = "Bare"


BENCH_AUDIT = Audit(principal=Principal(id="bench", role=Role.MANAGER), correlation_id="c" * 32)


def _bare_commands(app: _Bare, ids: list[UUID], count: int) -> None:
    for n in range(count):
        relationship: _BareRelationship = app.repository.get(ids[n % len(ids)])
        relationship.log_contact(
            occurred_at=datetime.now(UTC),
            channel="call",
            summary="Quarterly review call",
            actor_id=BENCH_AUDIT.principal.id,
            actor_role="manager",
            correlation_id=BENCH_AUDIT.correlation_id,
        )
        app.save(relationship)


def _open_book(ledger: Ledger, *, clients: int, tier: str = "standard") -> list[UUID]:
    """The scenarios' starting point: one account manager with `clients` open relationships."""
    manager = ledger.register_account_manager(
        BENCH_AUDIT, RegisterAccountManager(name="Bench", email="bench@example.com")
    ).id
    return [
        ledger.open_relationship(
            BENCH_AUDIT,
            OpenRelationship(
                client_name=f"client {n}",
                client_kind="corporate",
                industry="technology",
                tier=tier,
                account_manager_id=manager,
            ),
        ).id
        for n in range(clients)
    ]


def _ledger_commands(ledger: Ledger, ids: list[UUID], count: int) -> None:
    for n in range(count):
        ledger.log_contact(
            BENCH_AUDIT,
            ids[n % len(ids)],
            LogContact(occurred_at=datetime.now(UTC), channel="call", summary="Quarterly review call"),
        )


def bench_commands(*, count: int, rounds: int, postgres: bool) -> Result:
    """The application service's command path (validation, rules, audit fields, hashes) against a bare
    `eventsourcing` aggregate saving the same number of events of the same size, on the same store."""
    bare_times, ours_times = [], []
    for _ in range(rounds):
        with fresh_store(postgres) as settings:
            bare = _Bare(env={**library_env(settings.database_url), "APPLICATION_RECORDER_TOPIC": ""})
            opened = [_BareRelationship(name=f"client {n}") for n in range(20)]
            bare.save(*opened)
            bare_times.append(timed(functools.partial(_bare_commands, bare, [r.id for r in opened], count)))
            bare.close()
        with fresh_store(postgres) as settings:
            ledger = build_ledger(settings)
            ids = _open_book(ledger, clients=20)
            ours_times.append(timed(functools.partial(_ledger_commands, ledger, ids, count)))
            ledger.close()
    bare_rate, ours_rate = count / statistics.median(bare_times), count / statistics.median(ours_times)
    overhead = bare_rate / ours_rate - 1
    return Result(
        scenario="commands",
        store="postgres" if postgres else "sqlite",
        ratio=round(ours_rate / bare_rate, 2),
        target="<= 30 % slower than the bare library (ratio >= 0.77)",
        met=overhead <= 0.30,
        figures={
            "commands_per_s": round(ours_rate),
            "bare_commands_per_s": round(bare_rate),
            "overhead_pct": round(overhead * 100, 1),
        },
    )


def bench_time_travel(*, events: int, samples: int, postgres: bool) -> Result:
    """State as recorded at a time in the middle of a relationship with many events (snapshots on)."""
    audit = BENCH_AUDIT
    with fresh_store(postgres) as settings:
        ledger = build_ledger(settings)
        [relationship] = _open_book(ledger, clients=1, tier="key")
        middle = None
        for n in range(events - 1):
            ledger.log_contact(
                audit, relationship, LogContact(occurred_at=datetime.now(UTC), channel="call", summary=f"Call {n}")
            )
            if n == events // 2:
                middle = datetime.now(UTC)
        assert middle is not None
        times = []
        for _ in range(samples):
            started = time.perf_counter()
            ledger.relationship_as_of(relationship, middle)
            times.append(time.perf_counter() - started)
        ledger.close()
    times.sort()
    median_ms, p99_ms = statistics.median(times) * 1000, times[int(len(times) * 0.99) - 1] * 1000
    return Result(
        scenario="time travel",
        store="postgres" if postgres else "sqlite",
        ratio=None,
        target="median < 10 ms",
        met=median_ms < 10,
        figures={"events": events, "median_ms": round(median_ms, 2), "p99_ms": round(p99_ms, 2)},
    )


def bench_seed(*, events: int, postgres: bool) -> Result:
    """Events per second written by `ledger seed` (no target: reported)."""
    with fresh_store(postgres) as settings:
        ledger = build_ledger(settings)
        summary = seed_ledger(
            ledger, SeedPlan(managers=12, relationships=200, events=events, random_seed=7), progress=False
        )
        ledger.close()
    return Result(
        scenario="seed",
        store="postgres" if postgres else "sqlite",
        ratio=None,
        target="reported",
        met=None,
        figures={"events": summary.events, "events_per_s": round(summary.events_per_second)},
    )


def bench_verify(*, events: int, rounds: int, postgres: bool) -> Result:
    """`ledger verify` (every chain and seal recomputed) against merely reading the same raw rows."""
    from infrastructure.verification import Integrity, load_signing_key

    with fresh_store(postgres) as settings, tempfile.TemporaryDirectory() as folder:
        ledger = build_ledger(settings)
        seed_ledger(ledger, SeedPlan(managers=12, relationships=200, events=events, random_seed=7), progress=False)
        view = build_projections(ledger, settings).view
        integrity = Integrity(ledger, view)
        integrity.seal(load_signing_key(str(Path(folder) / "key.pem")))
        total = ledger.recorder.max_notification_id() or 0

        def read_raw_rows() -> None:
            for _ in integrity.raw_rows():
                pass

        raw_times, verify_times = [], []
        for _ in range(rounds):
            raw_times.append(timed(read_raw_rows))
            verify_times.append(timed(integrity.verify))
        ok = integrity.verify().ok
        ledger.close()
        view.close()
    raw_rate, verify_rate = total / statistics.median(raw_times), total / statistics.median(verify_times)
    ratio = verify_rate / raw_rate
    absolute_target = 200_000 if not postgres else 0
    return Result(
        scenario="verify",
        store="postgres" if postgres else "sqlite",
        ratio=round(ratio, 2),
        target=">= 0.40 of raw row reads; >= 200,000 events/s on SQLite",
        met=ok and ratio >= 0.4 and verify_rate >= absolute_target,
        figures={"events": total, "verify_events_per_s": round(verify_rate), "raw_read_events_per_s": round(raw_rate)},
    )


@dataclass(frozen=True)
class ApiTarget:
    """A speed target of an API scenario: a ratio to the bare async route in the same run, and a p99 bound."""

    ratio: float
    p99_ms: float | None = None

    def describe(self) -> str:
        p99 = f"; p99 < {self.p99_ms:g} ms" if self.p99_ms is not None else ""
        return f">= {self.ratio:.2f}{p99}"

    def met_by(self, ratio: float, load: Load) -> bool:
        return ratio >= self.ratio and (self.p99_ms is None or load.p99_ms < self.p99_ms)


API_TARGETS: dict[tuple[str, str], ApiTarget] = {
    ("sqlite", COMMAND): ApiTarget(0.30, 25),
    ("sqlite", KEYED_COMMAND): ApiTarget(0.25, 25),
    ("sqlite", WORKLOAD): ApiTarget(0.60, 25),
    ("sqlite", RELATIONSHIP): ApiTarget(0.40, 25),
    ("postgres", COMMAND): ApiTarget(0.15),
}
"""Issue 16's targets, for one worker (store, scenario); every other API figure is reported without one."""


def bench_api(*, postgres: bool, quick: bool, workers: int = 1) -> list[Result]:
    """Requests per second and latency of the ledger's API scenarios against bare FastAPI routes, in one run."""
    with fresh_store(postgres) as settings:
        run = measure_api(settings, seconds=3 if quick else 10, count=300 if quick else 3_000, workers=workers)
    return api_results(run, store="postgres" if postgres else "sqlite")


def api_results(run: ApiRun, *, store: str) -> list[Result]:
    """One result per scenario: its ratio to the bare async route (and to the bare sync one), judged against its
    target. A scenario with any non-2xx answer or socket error is not met, and says so in its note."""
    bare_async, bare_sync = run.loads[BARE_ASYNC], run.loads[BARE_SYNC]
    suffix = f" x{run.workers}" if run.workers > 1 else ""
    driver = "" if run.driver == "wrk" else "Python load generator (wrk is not installed): the ratios mean little. "

    def result(
        name: str, load: Load, *, ratio: float | None, ratio_sync: float | None, target: str, met: bool | None
    ) -> Result:
        failed = f"{load.errors:,} errors, not counted in requests/s: {load.describe_failures()}" if load.errors else ""
        return Result(
            scenario=f"api {name}" if name in BASELINES else f"api {name}{suffix}",
            store=store,
            ratio=None if ratio is None else round(ratio, 2),
            ratio_sync=None if ratio_sync is None else round(ratio_sync, 2),
            target=target,
            met=False if load.errors else met,
            figures={
                "requests_per_s": round(load.per_second),
                "p50_ms": round(load.p50_ms, 2),
                "p99_ms": round(load.p99_ms, 2),
                "errors": load.errors,
                "bare_async_requests_per_s": round(bare_async.per_second),
                "bare_sync_requests_per_s": round(bare_sync.per_second),
                "workers": run.workers,
                "seconds": run.seconds,
            },
            note=((driver if name == BARE_ASYNC else "") + failed).strip(),
        )

    results = [
        result(
            BARE_ASYNC,
            bare_async,
            ratio=None,
            ratio_sync=_ratio(bare_async, bare_sync),
            target=_baseline_target("baseline", run.baseline_rounds.get(BARE_ASYNC, ())),
            met=None,
        ),
        result(
            BARE_SYNC,
            bare_sync,
            ratio=_ratio(bare_sync, bare_async),
            ratio_sync=None,
            target=_baseline_target("second baseline", run.baseline_rounds.get(BARE_SYNC, ())),
            met=None,
        ),
    ]
    for name in LEDGER_SCENARIOS:
        load = run.loads[name]
        ratio = _ratio(load, bare_async)
        target = API_TARGETS.get((store, name)) if run.workers == 1 else None
        results.append(
            result(
                name,
                load,
                ratio=ratio,
                ratio_sync=_ratio(load, bare_sync),
                target=target.describe() if target else "report",
                met=target.met_by(ratio, load) if target else None,
            )
        )
    return results


def _baseline_target(what: str, rounds: tuple[Load, ...]) -> str:
    if len(rounds) < 2:
        return what
    measured = " / ".join(f"{load.per_second:,.0f}" for load in rounds)
    return f"{what}, the faster of {measured} req/s (before / after the ledger's)"


def _ratio(load: Load, baseline: Load) -> float:
    return load.per_second / baseline.per_second if baseline.per_second else 0.0


GROUP_SIZE = 16
"""Commands queued at once for the group lock-hold measure: as many as the API bench's connections."""


def bench_lock_hold(*, count: int) -> Result:
    """On PostgreSQL: how long the insert transaction, which holds the events table's lock from LOCK TABLE to
    COMMIT, takes for a one-event command, against the whole command. One primary commits at most
    1 / (that time) commands per second, however many workers write (SCALING.md)."""
    holds: list[float] = []
    wholes: list[float] = []
    with fresh_store(postgres=True) as settings:
        ledger = build_ledger(settings)
        try:
            recorder = ledger.recorder
            assert isinstance(recorder, AppendOnlyPostgresRecorder)
            insert_once = AppendOnlyPostgresRecorder._insert_once

            def timed_insert(self: AppendOnlyPostgresRecorder, stored: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return insert_once(self, stored, **kwargs)
                finally:
                    holds.append(time.perf_counter() - started)

            recorder._insert_once = timed_insert
            [relationship] = _open_book(ledger, clients=1)
            holds.clear()
            for _ in range(count):
                wholes.append(timed(functools.partial(_ledger_commands, ledger, [relationship], 1)))
        finally:
            ledger.close()
    hold, whole = statistics.median(holds), statistics.median(wholes)
    return Result(
        scenario="lock hold",
        store="postgres",
        ratio=round(hold / whole, 2),
        target="report: the share of a command spent holding the table lock; 1 / hold is one primary's ceiling",
        met=None,
        figures={
            "hold_median_ms": round(hold * 1000, 2),
            "hold_p90_ms": round(statistics.quantiles(holds, n=10)[-1] * 1000, 2),
            "command_median_ms": round(whole * 1000, 2),
            "ceiling_commands_per_s": round(1 / hold),
        },
    )


def bench_group_lock_hold(*, groups: int, size: int = GROUP_SIZE) -> Result:
    """On PostgreSQL: the table lock's hold time when the writer commits queued commands as one group (from the
    group's first insert to its COMMIT), per command stored. One primary then commits at most (commands stored) /
    (time the lock was held) commands per second (SCALING.md)."""
    holds: list[float] = []
    sizes: list[int] = []
    with fresh_store(postgres=True) as settings:
        ledger = build_ledger(settings)
        writer = Writer(ledger, group_commit_for(getattr(ledger.recorder, "datastore", None)))
        try:
            recorder = ledger.recorder
            assert isinstance(recorder, AppendOnlyPostgresRecorder)
            insert_once = AppendOnlyPostgresRecorder._insert_once
            first_insert: list[float] = []

            def timed_insert(self: AppendOnlyPostgresRecorder, stored: Any, **kwargs: Any) -> Any:
                if not first_insert:  # the lock is taken here, and held until the group's COMMIT
                    first_insert.append(time.perf_counter())
                return insert_once(self, stored, **kwargs)

            group = writer.group_commit.group

            @contextmanager
            def timed_group() -> Iterator[None]:
                first_insert.clear()
                with group():
                    yield
                if first_insert:
                    holds.append(time.perf_counter() - first_insert[0])

            recorder._insert_once = timed_insert
            writer.group_commit.group = timed_group  # type: ignore[method-assign]
            ids = _open_book(ledger, clients=size)

            async def one_group() -> None:
                groups_before, commands_before = writer.groups, writer.commands
                await asyncio.gather(*(writer.run(_ledger_commands, ledger, [one], 1) for one in ids))
                sizes.append((writer.commands - commands_before) // max(1, writer.groups - groups_before))

            for _ in range(groups):
                asyncio.run(one_group())
        finally:
            writer.close()
            ledger.close()
    per_command = sum(holds) / (len(sizes) * size)
    return Result(
        scenario="group hold",
        store="postgres",
        ratio=round(statistics.median(holds) / (statistics.median(sizes) or 1) * 1000, 2),
        target=f"report: the table lock's hold per command (ms) when {size} queued commands are one group",
        met=None,
        figures={
            "group_hold_median_ms": round(statistics.median(holds) * 1000, 2),
            "commands_per_group_median": statistics.median(sizes),
            "hold_per_command_ms": round(per_command * 1000, 3),
            "ceiling_commands_per_s": round(1 / per_command),
        },
    )


def run_scaling() -> list[Result]:
    """SCALING.md's figures, on PostgreSQL: the lock's hold time, alone and in groups, then the API with 1, 2 and 4
    workers."""
    return [
        bench_lock_hold(count=500),
        bench_group_lock_hold(groups=100),
        *(result for workers in (1, 2, 4) for result in bench_api(postgres=True, quick=False, workers=workers)),
    ]


def run(*, quick: bool, postgres: bool, events: int | None, rounds: int | None) -> list[Result]:
    events = events or (5_000 if quick else 200_000)
    rounds = rounds or (1 if quick else 3)
    return [
        bench_commands(count=200 if quick else 2_000, rounds=rounds, postgres=postgres),
        bench_rebuild(events=events, rounds=rounds, postgres=postgres),
        bench_time_travel(events=1_000 if quick else 10_000, samples=50 if quick else 200, postgres=postgres),
        bench_verify(events=events, rounds=rounds, postgres=postgres),
        *bench_api(postgres=postgres, quick=quick),
        *([] if quick else bench_api(postgres=postgres, quick=quick, workers=2)),
        bench_seed(events=events, postgres=postgres),
    ]


def table(results: list[Result]) -> str:
    """The results as text: the API scenarios in a table of their own, one per store and number of workers."""
    api = [result for result in results if result.scenario.startswith("api ")]
    others = [result for result in results if not result.scenario.startswith("api ")]
    parts = [general_table(others)] if others else []
    groups: dict[tuple[str, float], list[Result]] = {}
    for result in api:
        groups.setdefault((result.store, result.figures["workers"]), []).append(result)
    parts.extend(api_table(group) for group in groups.values())
    return "\n\n".join(parts)


def general_table(results: list[Result]) -> str:
    lines = [f"{'scenario':<11} {'store':<9} {'ratio':>6}  {'met':<4} target / figures"]
    for result in results:
        figures = ", ".join(f"{k}={v:,}" for k, v in result.figures.items())
        lines.append(
            f"{result.scenario:<11} {result.store:<9} {_ratio_text(result.ratio):>6}  {_met(result):<4} {result.target}"
        )
        lines.append(f"{'':<32} {figures}")
    return "\n".join(lines)


def api_table(results: list[Result]) -> str:
    """One run's API scenarios: requests/s (2xx only), latency, errors, the ratios to the bare async route and to
    the bare sync route, and the target; every scenario with errors is named below the table with its failures."""
    first = results[0].figures
    workers = int(first["workers"])
    lines = [
        f"API on {results[0].store}, {workers} worker{'s (the bare app: one)' if workers > 1 else ''}, "
        f"{first['seconds']:g} s per scenario: ratio to the bare async route; 'sync' to the bare sync route",
        f"{'scenario':<18} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'ratio':>6} {'sync':>6}  "
        f"{'met':<4} target",
    ]
    for result in results:
        figures = result.figures
        lines.append(
            f"{result.scenario.removeprefix('api '):<18} {figures['requests_per_s']:>7,.0f} {figures['p50_ms']:>8.2f} "
            f"{figures['p99_ms']:>8.2f} {figures['errors']:>7,.0f} {_ratio_text(result.ratio):>6} "
            f"{_ratio_text(result.ratio_sync):>6}  {_met(result):<4} {result.target}"
        )
    lines.extend(f"  ! {result.scenario.removeprefix('api ')}: {result.note}" for result in results if result.note)
    return "\n".join(lines)


def _ratio_text(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.2f}"


def _met(result: Result) -> str:
    return "-" if result.met is None else ("yes" if result.met else "NO")


def write_json(results: list[Result], path: Path) -> None:
    path.write_text(json.dumps([asdict(result) for result in results], indent=2))
