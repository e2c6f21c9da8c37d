"""The `LEDGER_*` variables are read in one place, and the database URL turned into the library's settings."""

from __future__ import annotations

import sys

import pytest

from infrastructure.settings import DEFAULT_DATABASE_URL, DEFAULT_SIGNING_KEY_PATH, InvalidSettings, Settings
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
    with pytest.raises(InvalidSettings, match=name):
        Settings.from_env({name: "0"})


def test_every_setting_has_its_default_when_no_variable_is_set() -> None:
    settings = Settings.from_env({})

    assert settings == Settings()
    assert settings.model_dump() == {
        "database_url": DEFAULT_DATABASE_URL,
        "signing_key_path": DEFAULT_SIGNING_KEY_PATH,
        "seal_every": 10_000,
        "serve_projections": True,
        "pool_size": 2,
        "pool_max_overflow": 8,
        "shutdown_timeout": 30,
        "firm_timezone": "America/New_York",
        "seal_interval": 60.0,
    }


def test_an_empty_variable_means_the_default() -> None:
    settings = Settings.from_env({"LEDGER_DATABASE_URL": "", "LEDGER_SEAL_EVERY": "", "LEDGER_SERVE_PROJECTIONS": ""})

    assert (settings.database_url, settings.seal_every, settings.serve_projections) == (
        DEFAULT_DATABASE_URL,
        10_000,
        True,
    )


@pytest.mark.parametrize("value", ["false", "False", "0", "no", "off"])
def test_projections_are_turned_off_by_any_usual_word_for_no(value: str) -> None:
    assert Settings.from_env({"LEDGER_SERVE_PROJECTIONS": value}).serve_projections is False


@pytest.mark.parametrize("value", ["true", "TRUE", "1", "yes", "on"])
def test_projections_are_turned_on_by_any_usual_word_for_yes(value: str) -> None:
    assert Settings.from_env({"LEDGER_SERVE_PROJECTIONS": value}).serve_projections is True


def test_a_word_that_is_neither_yes_nor_no_is_refused_by_its_variables_name() -> None:
    with pytest.raises(InvalidSettings, match=r"^LEDGER_SERVE_PROJECTIONS='maybe': .*boolean"):
        Settings.from_env({"LEDGER_SERVE_PROJECTIONS": "maybe"})


def test_a_seal_interval_that_is_not_a_number_is_refused_by_its_variables_name() -> None:
    with pytest.raises(InvalidSettings, match=r"^LEDGER_SEAL_EVERY='often': .*integer") as refused:
        Settings.from_env({"LEDGER_SEAL_EVERY": "often"})

    assert "\n" not in str(refused.value)


def test_a_negative_seal_interval_is_refused() -> None:
    with pytest.raises(InvalidSettings, match=r"^LEDGER_SEAL_EVERY='-1': .*greater than or equal to 0"):
        Settings.from_env({"LEDGER_SEAL_EVERY": "-1"})


def test_every_bad_variable_is_named_on_one_line() -> None:
    with pytest.raises(InvalidSettings) as refused:
        Settings.from_env(
            {"LEDGER_SEAL_EVERY": "x", "LEDGER_DB_POOL_MAX_OVERFLOW": "-1", "LEDGER_SHUTDOWN_TIMEOUT": "0"}
        )

    message = str(refused.value)
    assert "\n" not in message
    assert [
        name
        for name in ("LEDGER_SEAL_EVERY", "LEDGER_DB_POOL_MAX_OVERFLOW", "LEDGER_SHUTDOWN_TIMEOUT")
        if name in message
    ] == ["LEDGER_SEAL_EVERY", "LEDGER_DB_POOL_MAX_OVERFLOW", "LEDGER_SHUTDOWN_TIMEOUT"]


def test_every_documented_variable_reaches_its_setting() -> None:
    settings = Settings.from_env(
        {
            "LEDGER_DATABASE_URL": "postgresql://u:p@db:5433/ledger",
            "LEDGER_SIGNING_KEY": "/etc/ledger/seal.pem",
            "LEDGER_SEAL_EVERY": "0",
            "LEDGER_SERVE_PROJECTIONS": "0",
            "LEDGER_DB_POOL_SIZE": "4",
            "LEDGER_DB_POOL_MAX_OVERFLOW": "1",
            "LEDGER_SHUTDOWN_TIMEOUT": "5",
        }
    )

    assert settings == Settings(
        database_url="postgresql://u:p@db:5433/ledger",
        signing_key_path="/etc/ledger/seal.pem",
        seal_every=0,
        serve_projections=False,
        pool_size=4,
        pool_max_overflow=1,
        shutdown_timeout=5,
    )


def test_settings_built_in_code_never_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGER_DATABASE_URL", "postgresql://u:p@db/elsewhere")
    monkeypatch.setenv("LEDGER_SEAL_EVERY", "not a number")

    settings = Settings(database_url="sqlite:///./here.sqlite3")

    assert (settings.database_url, settings.seal_every) == ("sqlite:///./here.sqlite3", 10_000)


def test_from_env_reads_the_process_environment_when_given_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGER_SEAL_EVERY", "25")
    monkeypatch.setenv("LEDGER_SERVE_PROJECTIONS", "false")

    settings = Settings.from_env()

    assert (settings.seal_every, settings.serve_projections) == (25, False)


def test_settings_cannot_be_changed_once_read() -> None:
    settings = Settings.from_env({})

    with pytest.raises(ValueError, match="frozen"):
        settings.seal_every = 1  # type: ignore[misc]


def test_a_command_stops_on_a_bad_variable_with_a_one_line_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from scripts.cli import main

    monkeypatch.setenv("LEDGER_SEAL_EVERY", "often")
    monkeypatch.setattr(sys, "argv", ["ledger", "seal", "--public-key"])

    with pytest.raises(SystemExit) as stopped:
        main()

    assert stopped.value.code == 1
    assert capsys.readouterr().err == (
        "ledger: LEDGER_SEAL_EVERY='often': Input should be a valid integer, unable to parse string as an integer\n"
    )
