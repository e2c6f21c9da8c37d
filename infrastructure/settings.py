"""The one place that reads the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

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

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        return cls(
            database_url=environ.get("LEDGER_DATABASE_URL") or DEFAULT_DATABASE_URL,
            signing_key_path=environ.get("LEDGER_SIGNING_KEY") or DEFAULT_SIGNING_KEY_PATH,
            seal_every=int(environ.get("LEDGER_SEAL_EVERY") or 10_000),
            serve_projections=environ.get("LEDGER_SERVE_PROJECTIONS", "1") != "0",
        )
