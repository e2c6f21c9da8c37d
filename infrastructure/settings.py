"""The one place that reads the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, ValidationError
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.sources.utils import parse_env_vars

DEFAULT_DATABASE_URL = "sqlite:///./ledger.sqlite3"
DEFAULT_SIGNING_KEY_PATH = "./ledger-signing-key.pem"
ENV_PREFIX = "LEDGER_"


class InvalidSettings(ValueError):
    """A `LEDGER_*` variable holds a value the ledger cannot use; the message names the variable."""


def _known_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        msg = f"{name!r} is not an IANA time zone such as America/New_York or UTC"
        raise ValueError(msg) from None
    return name


class Settings(BaseSettings):
    """Everything the ledger is configured by; `from_env` reads it from `LEDGER_*` environment variables."""

    # An empty variable counts as unset (as before: `LEDGER_DATABASE_URL=` means the default).
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_ignore_empty=True, frozen=True, validate_by_name=True, validate_by_alias=True
    )

    database_url: str = DEFAULT_DATABASE_URL
    """`sqlite:///path` (the embedded default) or `postgresql://user:pass@host:port/db`."""
    signing_key_path: str = Field(default=DEFAULT_SIGNING_KEY_PATH, validation_alias="LEDGER_SIGNING_KEY")
    """The Ed25519 private key (PEM) that signs seals; created on first use if missing."""
    seal_every: int = Field(default=10_000, ge=0)
    """A running ledger seals the log every this many events (0: only on demand)."""
    seal_interval: float = Field(default=60.0, ge=0)
    """A running ledger seals at most this many seconds after an event arrives, however few came (0: no time bound)."""
    serve_projections: bool = True
    """Whether each API worker runs the projections (`ledger serve --no-projections` turns it off)."""
    pool_size: int = Field(default=2, ge=1, validation_alias="LEDGER_DB_POOL_SIZE")
    """PostgreSQL connections each pool keeps open; a process has two pools (events, views)."""
    pool_max_overflow: int = Field(default=8, ge=0, validation_alias="LEDGER_DB_POOL_MAX_OVERFLOW")
    """Connections each pool may open beyond `pool_size` under load, closed again when idle."""
    shutdown_timeout: int = Field(default=30, gt=0)
    """Seconds `ledger serve` lets in-flight requests finish after SIGTERM before closing them."""
    firm_timezone: Annotated[str, AfterValidator(_known_timezone)] = "America/New_York"
    """The IANA time zone whose "today" bounds gift, entertainment and signing dates (`Europe/London`, `UTC`)."""

    @property
    def firm_zone(self) -> ZoneInfo:
        """The firm's time zone."""
        return ZoneInfo(self.firm_timezone)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Settings built in code (tests, benchmarks) are exactly what they say: only `from_env` reads variables.
        return (init_settings,)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings the `LEDGER_*` variables give (of this process, unless a mapping is passed instead)."""
        variables = _Variables(cls, os.environ if environ is None else environ)
        try:
            return cls(**variables())
        except ValidationError as error:
            raise InvalidSettings(_describe(error, environ=variables.environ)) from None

    @classmethod
    def variable_of(cls, field_or_alias: str) -> str:
        """The environment variable that sets a field (given by its name or its alias)."""
        field = cls.model_fields.get(field_or_alias)
        if field is None:
            return field_or_alias
        alias = field.validation_alias
        return alias if isinstance(alias, str) else ENV_PREFIX + field_or_alias.upper()


class _Variables(EnvSettingsSource):
    """The `LEDGER_*` variables of one mapping: the process's environment, or the one a caller passes."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self.environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(self.environ, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)


def _describe(error: ValidationError, *, environ: Mapping[str, str]) -> str:
    """One line naming each refused variable, its value and why, e.g. `LEDGER_SEAL_EVERY='often': ...`."""
    reasons = []
    for problem in error.errors(include_url=False):
        variable = Settings.variable_of(str(problem["loc"][0])) if problem["loc"] else "LEDGER_*"
        given = next((value for name, value in environ.items() if name.upper() == variable), None)
        shown = f"{variable}={given!r}" if given is not None else variable
        reasons.append(f"{shown}: {problem['msg']}")
    return "; ".join(reasons)
