"""The one place that reads the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_DATABASE_URL = "sqlite:///./ledger.sqlite3"
DEFAULT_SIGNING_KEY_PATH = "./ledger-signing-key.pem"


class Settings(BaseModel):
    """Everything the ledger is configured by; read from `LEDGER_*` environment variables."""

    model_config = ConfigDict(frozen=True)

    database_url: str = DEFAULT_DATABASE_URL
    """`sqlite:///path` (the embedded default) or `postgresql://user:pass@host:port/db`."""
    signing_key_path: str = DEFAULT_SIGNING_KEY_PATH
    """The Ed25519 private key (PEM) that signs seals; created on first use if missing."""
    seal_every: int = 10_000
    """A running ledger seals the log every this many events (0: only on demand)."""
    serve_projections: bool = True
    """Whether each API worker runs the projections (`ledger serve --no-projections` turns it off)."""
    pool_size: int = Field(default=2, ge=1)
    """PostgreSQL connections each pool keeps open; a process has two pools (events, views)."""
    pool_max_overflow: int = Field(default=8, ge=0)
    """Connections each pool may open beyond `pool_size` under load, closed again when idle."""
    shutdown_timeout: int = Field(default=30, gt=0)
    """Seconds `ledger serve` lets in-flight requests finish after SIGTERM before closing them."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        return cls(
            database_url=environ.get("LEDGER_DATABASE_URL") or DEFAULT_DATABASE_URL,
            signing_key_path=environ.get("LEDGER_SIGNING_KEY") or DEFAULT_SIGNING_KEY_PATH,
            seal_every=int(environ.get("LEDGER_SEAL_EVERY") or 10_000),
            serve_projections=environ.get("LEDGER_SERVE_PROJECTIONS", "1") != "0",
            pool_size=int(environ.get("LEDGER_DB_POOL_SIZE") or 2),
            pool_max_overflow=int(environ.get("LEDGER_DB_POOL_MAX_OVERFLOW") or 8),
            shutdown_timeout=int(environ.get("LEDGER_SHUTDOWN_TIMEOUT") or 30),
        )
