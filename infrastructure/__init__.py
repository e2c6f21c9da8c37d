"""Where the ledger meets the outside world: settings, the event store's tables, and wiring."""
