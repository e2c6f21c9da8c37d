"""The `ledger` command: one sub-command per operator's task, each a thin wrapper over the service."""

from __future__ import annotations

import sys
from typing import Annotated, NoReturn

import typer

from infrastructure.bootstrap import build_ledger
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
    with build_ledger(Settings.from_env()) as ledger:
        summary = seed_ledger(ledger, plan, progress=True)
    typer.echo(summary.describe())


@app.command()
def demo() -> None:
    """Fills an empty ledger with a realistic example history, then prints a summary of the ledger."""
    from scripts.demo import ensure_demo, summarise

    settings = Settings.from_env()
    with build_ledger(settings) as ledger:
        seeded = ensure_demo(ledger, progress=True)
        typer.echo(f"Ledger at {settings.database_url} ({'demo history seeded' if seeded else 'already had history'}):")
        typer.echo(summarise(ledger).describe())


def main() -> None:
    try:
        app()
    except Exception as error:  # the one-line reason promised by API.md
        typer.echo(f"ledger: {error}", err=True)
        sys.exit(1)
