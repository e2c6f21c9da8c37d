"""The seals are append-only too: deleting one cannot hide a deletion from the end of a stream."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest

from domain.commands import RegisterAccountManager
from domain.values import Role
from infrastructure.bootstrap import build_system
from infrastructure.settings import Settings
from infrastructure.verification import load_signing_key
from tests.conftest import audit_as


@pytest.mark.parametrize("statement", ["UPDATE ledger_seals SET root = 'x'", "DELETE FROM ledger_seals"])
def test_the_database_refuses_to_change_or_delete_a_seal(database_url: str, tmp_path: Path, statement: str) -> None:
    system = build_system(
        Settings(database_url=database_url, signing_key_path=str(tmp_path / "key.pem")), run_projections=False
    )
    try:
        system.ledger.register_account_manager(
            audit_as(Role.MANAGER), RegisterAccountManager(name="Ann", email="ann@example.com")
        )
        sealed = system.integrity.seal(load_signing_key(str(tmp_path / "key.pem")))
        assert sealed is not None
        if database_url.startswith("sqlite"):
            path = database_url.removeprefix("sqlite:///")
            with sqlite3.connect(path) as connection, pytest.raises(sqlite3.DatabaseError, match="append-only"):
                connection.execute(statement)
        else:
            base, _, schema = database_url.partition("?schema=")
            with psycopg.connect(base, autocommit=True) as connection:
                connection.execute(f'SET search_path TO "{schema}"')
                with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                    connection.execute(statement.encode())
        assert [seal.root for seal in system.integrity.seals()] == [sealed.root]
    finally:
        system.close()
