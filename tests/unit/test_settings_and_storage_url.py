"""The database URL is turned into the library's settings in one place."""

from __future__ import annotations

import pytest

from infrastructure.settings import DEFAULT_DATABASE_URL, Settings
from infrastructure.storage import (
    AppendOnlyPostgresRecorder,
    AppendOnlySQLiteRecorder,
    LedgerPostgresFactory,
    UnsupportedDatabaseURL,
    library_env,
)


def test_settings_default_to_a_sqlite_file_in_the_working_folder() -> None:
    assert Settings.from_env({}).database_url == DEFAULT_DATABASE_URL == "sqlite:///./ledger.sqlite3"


def test_settings_read_ledger_database_url() -> None:
    url = "postgresql://u:p@db:5433/ledger"
    assert Settings.from_env({"LEDGER_DATABASE_URL": url}).database_url == url


def test_a_sqlite_url_names_the_file_and_the_append_only_recorder() -> None:
    env = library_env("sqlite:///./data/ledger.sqlite3")
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite"
    assert env["SQLITE_DBNAME"] == "./data/ledger.sqlite3"
    assert env["APPLICATION_RECORDER_TOPIC"].endswith(AppendOnlySQLiteRecorder.__qualname__)


def test_an_absolute_sqlite_path_keeps_its_leading_slash() -> None:
    assert library_env("sqlite:////var/lib/ledger.sqlite3")["SQLITE_DBNAME"] == "/var/lib/ledger.sqlite3"


def test_each_in_memory_sqlite_url_is_a_database_of_its_own() -> None:
    first = library_env("sqlite:///:memory:")["SQLITE_DBNAME"]
    second = library_env("sqlite:///:memory:")["SQLITE_DBNAME"]
    assert "mode=memory" in first
    assert first != second


def test_a_postgres_url_is_split_into_the_library_settings() -> None:
    env = library_env("postgresql://alice:s%40cret@db.example:6543/ledger?schema=audit")
    assert env["PERSISTENCE_MODULE"].endswith(LedgerPostgresFactory.__qualname__)
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"]) == ("alice", "s@cret")
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"], env["POSTGRES_DBNAME"]) == ("db.example", "6543", "ledger")
    assert env["POSTGRES_SCHEMA"] == "audit"
    assert env["APPLICATION_RECORDER_TOPIC"].endswith(AppendOnlyPostgresRecorder.__qualname__)


def test_the_database_function_insert_path_is_always_off() -> None:
    # With it, a reader following the global log can miss concurrent writes.
    assert library_env("postgresql://postgres@127.0.0.1/test")["POSTGRES_ENABLE_DB_FUNCTIONS"] == "n"


@pytest.mark.parametrize(
    "url",
    ["mysql://root@localhost/ledger", "ledger.sqlite3", "sqlite://", "postgresql://postgres@127.0.0.1/"],
)
def test_an_unusable_url_is_refused_with_the_forms_that_work(url: str) -> None:
    with pytest.raises(UnsupportedDatabaseURL, match=r"sqlite:///|postgresql://"):
        library_env(url)


def test_pool_sizes_and_the_shutdown_grace_are_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {"LEDGER_DB_POOL_SIZE": "3", "LEDGER_DB_POOL_MAX_OVERFLOW": "0", "LEDGER_SHUTDOWN_TIMEOUT": "7"}
    )
    assert (settings.pool_size, settings.pool_max_overflow, settings.shutdown_timeout) == (3, 0, 7)
    assert (Settings().pool_size, Settings().pool_max_overflow, Settings().shutdown_timeout) == (2, 8, 30)


def test_the_pool_sizes_reach_the_library_settings_on_postgres() -> None:
    env = library_env("postgresql://postgres@127.0.0.1/test", pool_size=3, pool_max_overflow=5)
    assert (env["POSTGRES_POOL_SIZE"], env["POSTGRES_MAX_OVERFLOW"]) == ("3", "5")


@pytest.mark.parametrize("name", ["LEDGER_DB_POOL_SIZE", "LEDGER_SHUTDOWN_TIMEOUT"])
def test_a_pool_or_grace_below_one_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match=name.removeprefix("LEDGER_").removeprefix("DB_").lower()):
        Settings.from_env({name: "0"})
