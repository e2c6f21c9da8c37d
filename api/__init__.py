"""The HTTP API for front-ends and auditors' tools (FastAPI): the contract of API.md."""
