"""The one place that reads the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./ledger.sqlite3"


class Settings(BaseModel):
    """Everything the ledger is configured by; read from `LEDGER_*` environment variables."""

    model_config = ConfigDict(frozen=True)

    database_url: str = DEFAULT_DATABASE_URL
    """`sqlite:///path` (the embedded default) or `postgresql://user:pass@host:port/db`."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        return cls(database_url=environ.get("LEDGER_DATABASE_URL") or DEFAULT_DATABASE_URL)
