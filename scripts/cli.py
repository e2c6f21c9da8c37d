"""The `ledger` command: one sub-command per operator's task, each a thin wrapper over the service."""

from __future__ import annotations

import os
import signal
import sys
import time
from contextlib import closing
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from domain.values import Role
from infrastructure.bootstrap import open_ledger
from infrastructure.settings import Settings

app = typer.Typer(
    help="The relationship ledger. The store is chosen by LEDGER_DATABASE_URL (default sqlite:///./ledger.sqlite3).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def fail(reason: str) -> NoReturn:
    """Exits non-zero with a one-line reason on stderr, as API.md asks of every command."""
    typer.echo(f"ledger: {reason}", err=True)
    raise typer.Exit(code=1)


@app.command()
def seed(
    managers: Annotated[int, typer.Option(min=1, help="Account managers to register.")] = 12,
    relationships: Annotated[int, typer.Option(min=1, help="Client relationships to open.")] = 200,
    events: Annotated[int, typer.Option(min=1, help="Events to write in all (at least).")] = 10_000,
    random_seed: Annotated[int, typer.Option(help="The same seed always writes the same history.")] = 2026,
) -> None:
    """Writes a synthetic but realistic history into the ledger, with a progress bar."""
    from scripts.seed import SeedPlan, seed_ledger

    plan = SeedPlan(managers=managers, relationships=relationships, events=events, random_seed=random_seed)
    with open_ledger(Settings.from_env()) as ledger:
        summary = seed_ledger(ledger, plan, progress=True)
    typer.echo(summary.describe())


@app.command()
def demo() -> None:
    """Fills an empty ledger with a realistic example history, then prints a summary of the ledger."""
    from scripts.demo import ensure_demo, summarise

    settings = Settings.from_env()
    with open_ledger(settings) as ledger:
        seeded = ensure_demo(ledger, progress=True)
        typer.echo(f"Ledger at {settings.database_url} ({'demo history seeded' if seeded else 'already had history'}):")
        typer.echo(summarise(ledger).describe())


@app.command()
def rebuild(
    names: Annotated[
        list[str] | None, typer.Argument(help="Projections to bring up to date (default: all).", show_default=False)
    ] = None,
    from_scratch: Annotated[
        bool, typer.Option("--from-scratch", help="Build fresh tables beside the live ones and swap them in.")
    ] = False,
) -> None:
    """Brings projections up to date from where they stopped, or rebuilds them from the first event."""
    from infrastructure.bootstrap import open_projections
    from scripts.progress import events_progress

    with open_projections(Settings.from_env(), names) as projections:
        start = projections.start_position(rebuilding=from_scratch)
        with events_progress("Rebuilding" if from_scratch else "Catching up", projections.head()) as update:
            started = time.monotonic()
            reached = projections.rebuild_from_scratch(update) if from_scratch else projections.catch_up(update)
            elapsed = time.monotonic() - started
    rebuilt = ", ".join(projection.name for projection in projections.projections)
    processed = max(0, reached - start)
    rate = processed / elapsed if elapsed > 0 else 0.0
    typer.echo(f"{rebuilt}: at position {reached}; {processed:,} events in {elapsed:.1f} s ({rate:,.0f} events/s)")


@app.command()
def bench(
    *,
    quick: Annotated[bool, typer.Option("--quick", help="A one-minute smoke run (small data, one round).")] = False,
    postgres: Annotated[
        bool, typer.Option("--postgres", help="On PostgreSQL (127.0.0.1:5432/test) instead of SQLite.")
    ] = False,
    events: Annotated[int | None, typer.Option(min=100, help="Events to seed for each scenario.")] = None,
    rounds: Annotated[int | None, typer.Option(min=1, help="Rounds per scenario; the median is reported.")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Also write the results as JSON here.")] = None,
    scaling: Annotated[
        bool,
        typer.Option("--scaling", help="SCALING.md's figures instead: the table lock, then 1, 2 and 4 API workers."),
    ] = False,
    api_only: Annotated[
        bool,
        typer.Option(
            "--api-only",
            help="Only the API scenarios, one worker (with --postgres and --quick): a quick measure while tuning.",
        ),
    ] = False,
) -> None:
    """Measures each speed target against its baseline in the same run (see BENCHMARKS.md and SCALING.md)."""
    from scripts.bench import bench_api, run, run_scaling, table, write_json

    if api_only and scaling:
        fail("--api-only and --scaling are two different runs: choose one")
    if scaling:
        results = run_scaling()
    elif api_only:
        results = bench_api(postgres=postgres, quick=quick)
    else:
        results = run(quick=quick, postgres=postgres, events=events, rounds=rounds)
    typer.echo(table(results))
    if json_path is not None:
        write_json(results, json_path)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    demo: Annotated[bool, typer.Option("--demo", help="Seed an empty ledger and print one token per role.")] = False,
    projections: Annotated[
        bool, typer.Option("--projections/--no-projections", help="Run the projections in this process.")
    ] = True,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Worker processes (each its own interpreter: more cores, no shared GIL).")
    ] = 1,
) -> None:
    """Serves the HTTP API (uvicorn), with the projections following the log in the same process by default.

    With several workers, each is a process of its own; the projections then run
    in every worker (exactly once all the same) unless --no-projections is given,
    in which case run `ledger projections run` beside them. On SIGTERM or Ctrl-C
    the server stops accepting connections and lets requests in flight finish
    (for up to LEDGER_SHUTDOWN_TIMEOUT seconds) before it closes the store.
    """
    import uvicorn

    from api.app import create_app
    from infrastructure.bootstrap import build_system

    settings = Settings.from_env()
    system = build_system(settings, run_projections=projections and workers == 1)
    if demo:
        from infrastructure.verification import load_signing_key
        from scripts.demo import demo_tokens, ensure_demo

        seeded = ensure_demo(system.ledger, progress=True)
        if seeded:  # sealed at once, so the audit page shows a seal from the first look
            system.integrity.seal(load_signing_key(settings.signing_key_path))
        typer.echo(f"Demo ledger at {settings.database_url} ({'seeded' if seeded else 'already had history'}).")
        typer.echo(f"Dashboard at http://{host}:{port}/ (sign in there with one of the tokens below).")
        typer.echo(f"API at http://{host}:{port}/v1 (docs at http://{host}:{port}/docs). Tokens, one per role:")
        for role, token in demo_tokens(system).items():
            typer.echo(f"  {role:<16} {token}")
    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again for the
    # handler it found: make that one a clean exit, so the system is closed below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if workers > 1:
        system.close()
        os.environ["LEDGER_SERVE_PROJECTIONS"] = "1" if projections else "0"
        uvicorn.run(
            "api.app:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            timeout_graceful_shutdown=settings.shutdown_timeout,
        )
        return
    try:
        uvicorn.run(
            create_app(system, freeze_start_up_heap=True),
            host=host,
            port=port,
            log_level="info",
            timeout_graceful_shutdown=settings.shutdown_timeout,
        )
    finally:
        system.close()


tokens_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")


@tokens_app.command("add")
def add_token(
    role: Annotated[Role, typer.Option(help="The principal's role.", case_sensitive=False)],
    name: Annotated[
        str,
        typer.Option(
            help="Whose token it is: 1-100 characters of A-Z a-z 0-9 . _ - @ :, never used before (revoked or not); "
            "recorded as actor_id on every event it stores."
        ),
    ],
    account_manager_id: Annotated[
        str | None, typer.Option(help="For an account_manager token: the account manager it stands for.")
    ] = None,
    expires: Annotated[
        str | None,
        typer.Option(
            help="When it stops working: an RFC 3339 time with its offset (2027-01-31T18:00:00+01:00) "
            "or a duration from now (90d, 12h, 30m, 2w). Default: never."
        ),
    ] = None,
) -> None:
    """Creates an API token and prints it as the last line (only its hash is stored)."""
    from uuid import UUID

    from domain.errors import DomainError
    from infrastructure.bootstrap import open_token_store
    from infrastructure.tokens import parse_expiry

    manager_id = None
    if account_manager_id is not None:
        try:
            manager_id = UUID(account_manager_id)
        except ValueError:
            fail(f"--account-manager-id {account_manager_id!r} is not a UUID")
    settings = Settings.from_env()
    try:
        expires_at = parse_expiry(expires) if expires is not None else None
        with open_ledger(settings) as ledger, open_token_store(settings, ledger=ledger) as store:
            issued = store.issue(role=role, name=name, account_manager_id=manager_id, expires_at=expires_at)
    except DomainError as error:  # a used name, an unknown or deactivated manager, a bad expiry
        fail(error.message)
    until = f", until {issued.expires_at.isoformat()}" if issued.expires_at else ""
    typer.echo(f"Token for {issued.name} ({issued.principal.role.value}{until}); it is shown only now:", err=True)
    typer.echo(issued.token)


@tokens_app.command("list")
def list_tokens() -> None:
    """Lists every token ever issued (name, role, account manager, created, expires, revoked): never a secret."""
    from infrastructure.bootstrap import open_token_store
    from infrastructure.tokens import TokenRecord

    records: list[TokenRecord] = []
    after = ("", "")
    with open_token_store(Settings.from_env()) as store:
        while page := store.records(after=after, limit=500):
            records.extend(page)
            last = page[-1]
            after = (last.created_at.isoformat() if last.created_at else "", last.name)
    rows = [("NAME", "ROLE", "ACCOUNT MANAGER", "CREATED", "EXPIRES", "REVOKED")]
    for record in records:
        revoked = f"{record.revoked_at:%Y-%m-%dT%H:%M:%SZ} by {record.revoked_by}" if record.revoked_at else "-"
        rows.append(
            (
                record.name,
                record.role,
                str(record.account_manager_id or "-"),
                f"{record.created_at:%Y-%m-%dT%H:%M:%SZ}" if record.created_at else "-",
                f"{record.expires_at:%Y-%m-%dT%H:%M:%SZ}" if record.expires_at else "never",
                revoked,
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@tokens_app.command("revoke")
def revoke_token(
    name: Annotated[str, typer.Argument(help="The token's name.", show_default=False)],
) -> None:
    """Revokes a token: a running server refuses it within a second. The row stays, marked revoked (when, by whom)."""
    import getpass

    from domain.errors import DomainError
    from infrastructure.bootstrap import open_token_store

    try:
        operator = getpass.getuser()
    except (KeyError, OSError):  # no login name for this uid (a bare container)
        operator = str(os.getuid())
    try:
        with open_token_store(Settings.from_env()) as store:
            revoked = store.revoke(name, by=f"cli:{operator}")
    except DomainError as error:  # unknown, or already revoked
        fail(error.message)
    typer.echo(f"Revoked the token {revoked.name!r} ({revoked.role}) at {revoked.revoked_at:%Y-%m-%dT%H:%M:%SZ}.")


class ReportFormat(StrEnum):
    CSV = "csv"
    PDF = "pdf"


@app.command()
def report(
    out: Annotated[Path, typer.Option("--out", help="The file to write (replaced if it exists).")],
    year: Annotated[
        int | None, typer.Option(min=1900, max=2199, help="The limit year (default: this year in the firm's zone).")
    ] = None,
    report_format: Annotated[
        ReportFormat, typer.Option("--format", help="csv or pdf.", case_sensitive=False)
    ] = ReportFormat.CSV,
) -> None:
    """Writes the examiner's report of a limit year: the views are brought up to date, the log sealed up to them."""
    from infrastructure.bootstrap import open_projections
    from infrastructure.verification import Integrity
    from projections.examiner_report_live import draw_report
    from projections.examiner_report_render import seal_statement, to_csv, to_pdf

    settings = Settings.from_env()
    with open_projections(settings) as projections:
        ledger = projections.ledger
        position = projections.catch_up()
        today = ledger.today()
        drawn = draw_report(
            projections.view,
            Integrity(ledger, projections.view),
            key_path=settings.signing_key_path,
            year=year or today.year,
            today=today,
            zone=ledger.firm_timezone,
            position=position,
        )
    body = to_pdf(drawn) if report_format is ReportFormat.PDF else to_csv(drawn).encode()
    try:
        out.write_bytes(body)
    except OSError as error:
        fail(f"could not write {out}: {error.strerror or error}")
    typer.echo(
        f"Wrote the examiner's report of {drawn.limit_year} ({drawn.gift_count:,} gifts, "
        f"${drawn.grand_total:,.2f} counted) to {out}."
    )
    typer.echo(seal_statement(drawn))


@app.command()
def seal(
    public_key: Annotated[
        bool,
        typer.Option("--public-key", help="Print the signing key's public key (PEM), its fingerprint on stderr."),
    ] = False,
    rotate_key: Annotated[
        Path | None,
        typer.Option(
            "--rotate-key",
            help="Hand over to this new key (PEM, created if missing): a seal signed by the old key and the new, "
            "after which the new key replaces the one at LEDGER_SIGNING_KEY.",
        ),
    ] = None,
) -> None:
    """Seals the log now: recomputes every hash since the last seal, then signs the Merkle root over every event."""
    from infrastructure.bootstrap import open_integrity
    from infrastructure.integrity import fingerprint
    from infrastructure.verification import SealRefused, load_signing_key, public_key_pem, raw_public_key

    settings = Settings.from_env()
    key = load_signing_key(settings.signing_key_path)
    if public_key:
        typer.echo(public_key_pem(key), nl=False)
        typer.echo(f"fingerprint {fingerprint(raw_public_key(key))}", err=True)
        return
    new_key = load_signing_key(str(rotate_key)) if rotate_key is not None else None
    with open_integrity(settings) as integrity:
        try:
            sealed = integrity.seal(key, rotate_to=new_key)
        except SealRefused as refused:
            fail(f"nothing sealed: {refused}")
    if sealed is None:
        typer.echo("Nothing new to seal: the last seal already covers the whole log.")
        return
    if new_key is not None and rotate_key is not None:
        _install_signing_key(rotate_key, Path(settings.signing_key_path))
        typer.echo(
            f"Rotated the signing key at position {sealed.position}: {fingerprint(sealed.public_key)} hands over to "
            f"{fingerprint(raw_public_key(new_key))}, now at {settings.signing_key_path}."
        )
    else:
        typer.echo(f"Sealed {sealed.size:,} events up to position {sealed.position}.")
    typer.echo(f"position {sealed.position}\nroot {sealed.root.hex()}\nsignature {sealed.signature.hex()}")


def _install_signing_key(new: Path, path: Path) -> None:
    """Puts the new key where every sealing process reads it, in one step (the old key is retired)."""
    draft = path.with_name(f".{path.name}.{os.getpid()}.rotated")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(new.read_bytes())
    os.replace(draft, path)


@app.command()
def verify(
    public_key: Annotated[
        Path | None,
        typer.Option(
            help="The ledger's public key (PEM, or its 64 hex digits in a file) kept outside the database; "
            "default: the local signing key's, if LEDGER_SIGNING_KEY names a file."
        ),
    ] = None,
) -> None:
    """Recomputes every hash chain and seal; exit 0 when the log is intact, 1 with the first bad position when not.

    Every seal must be signed by the first seal's key or a key it rotated to, and that
    chain of keys must hold the given (or local) key.
    """
    from infrastructure.bootstrap import open_integrity
    from infrastructure.integrity import fingerprint
    from infrastructure.verification import local_public_key, parse_public_key
    from scripts.progress import events_progress

    settings = Settings.from_env()
    pinned = None
    if public_key is not None:
        try:
            pinned = parse_public_key(public_key.read_text())
        except ValueError:
            fail(f"{public_key} is not an Ed25519 public key (PEM or 64 hex digits)")
    else:
        pinned = local_public_key(settings.signing_key_path)
    with (
        open_integrity(settings) as integrity,
        events_progress("Verifying", integrity.ledger.recorder.max_notification_id() or 0) as update,
    ):
        result = integrity.verify(update, public_key=pinned)
    if result.ok:
        typer.echo(f"Intact: {result.events_checked:,} events and {result.seals_checked} seals verified.")
        if result.first_key is not None:
            source = "the given key" if public_key is not None else "the local signing key"
            confirmed = f"confirmed by {source}" if result.key_confirmed else "NOT confirmed: pass --public-key FILE"
            typer.echo(
                f"Seals' key {fingerprint(result.current_key or result.first_key)} "
                f"({result.rotations_checked} rotations; {confirmed})",
                err=True,
            )
        return
    for problem in result.problems[:20]:
        typer.echo(problem, err=True)
    fail(f"NOT intact: first bad position {result.first_bad_position} ({result.events_checked:,} events checked)")


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(f"{text!r} is not a time: use RFC 3339 with an offset, e.g. 2026-05-01T09:00:00+00:00")
    if moment.tzinfo is None:
        fail(f"{text!r} has no offset: a naive time is ambiguous; add one, e.g. +00:00")
    return moment


@app.command()
def replay(
    as_of: Annotated[str, typer.Option("--as-of", help="The moment (RFC 3339 with an offset).")],
    out: Annotated[Path, typer.Option("--out", help="A new SQLite file to write the views into.")],
) -> None:
    """Builds every projection as it stood at a moment into a new SQLite file any SQLite tool can open."""
    from projections.replay import ReplayTargetExists
    from projections.replay import replay as replay_views
    from scripts.progress import events_progress

    moment = _moment(as_of)
    settings = Settings.from_env()
    with (
        open_ledger(settings) as ledger,
        events_progress("Replaying", ledger.recorder.max_notification_id() or 0) as update,
    ):
        try:
            count = replay_views(ledger, out, moment, settings.database_url, update)
        except ReplayTargetExists as error:
            fail(str(error))
    typer.echo(f"{count:,} events recorded up to {moment.isoformat()} replayed into {out}")


@app.command()
def export(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Events recorded up to this moment (default: now).")
    ] = None,
    format: Annotated[str, typer.Option("--format", help="jsonl or csv.")] = "jsonl",  # noqa: A002
    out: Annotated[Path, typer.Option("--out", help="The file to write.")] = Path("ledger-export.jsonl"),
) -> None:
    """Writes every event recorded up to a moment, with all audit fields and its hash, as JSON lines or CSV."""
    from infrastructure.bootstrap import build_system
    from projections.export import csv_lines, jsonl_lines

    if format not in ("jsonl", "csv"):
        fail(f"--format must be jsonl or csv, not {format!r}")
    moment = _moment(as_of) if as_of else datetime.now(UTC)
    with closing(build_system(Settings.from_env(), run_projections=False)) as system:
        count = 0
        if format == "csv":
            with out.open("w", newline="") as file:
                for chunk in csv_lines(system, moment):
                    file.write(chunk)
                    count += chunk.count("\n")
            count -= 1  # the header
        else:
            with out.open("wb") as file:
                for line in jsonl_lines(system, moment):
                    file.write(line)
                    count += 1
    typer.echo(f"{count:,} events recorded up to {moment.isoformat()} written to {out}")


projections_app = typer.Typer(help="The projections' own process.", no_args_is_help=True)
app.add_typer(projections_app, name="projections")


@projections_app.command("run")
def run_projections(
    poll_interval: Annotated[float, typer.Option(min=0.01, help="Seconds between polls for other writers.")] = 0.25,
) -> None:
    """Keeps every projection following the log, and seals it as it grows, until stopped (SIGINT or SIGTERM).

    Any number may run beside `ledger serve --no-projections`: each event is
    applied to each view exactly once, by whichever process gets there first.
    """
    import logging
    import threading

    from infrastructure.bootstrap import STARTUP_PATIENCE, build_system

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    settings = Settings.from_env()
    system = build_system(settings, poll_interval=poll_interval, patience=STARTUP_PATIENCE)
    try:
        typer.echo(f"Projections following {settings.database_url}; stop with Ctrl-C", err=True)
        stopping.wait()
    finally:
        system.close()
    typer.echo("Projections stopped", err=True)


def main() -> None:
    try:
        app()
    except Exception as error:  # the one-line reason promised by API.md
        typer.echo(f"ledger: {error}", err=True)
        sys.exit(1)
