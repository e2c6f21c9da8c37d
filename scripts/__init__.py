"""Operators' entry points: the `ledger` command and the scripts behind it."""
