"""The read side: views built from the ledger's events, exactly once, resumable and rebuildable."""
