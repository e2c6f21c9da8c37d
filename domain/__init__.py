"""The relationship ledger's domain: aggregates, events, rules and the application service."""
