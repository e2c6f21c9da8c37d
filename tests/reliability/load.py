"""Client threads issuing a realistic mix of commands and reads over HTTP, recording what each write was told.

Each write has its own correlation id and Idempotency-Key, both kept when the
client tries it again after a 503 or a broken connection, as a careful
front-end would. Its outcome is then one of:

- `acknowledged`: a 2xx, or 409 `already_stored` (an earlier attempt was stored
  but its answer lost); its events must be in the log exactly once;
- `refused`: a definite no (a domain rule, a lost race); nothing may be stored;
- `unacknowledged`: no answer was ever definite; its events are in the log
  entirely or not at all, never in part and never twice.

Anything else (a 500, a malformed answer) is `unexpected` and fails the test.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

ACKNOWLEDGED = "acknowledged"
REFUSED = "refused"
UNACKNOWLEDGED = "unacknowledged"

RETRY_FOR = 45.0
"""How long a client keeps trying one write while the answers are 503s or broken connections."""
IN_PROGRESS_FOR = 12.0
"""How long it keeps asking about a key whose first request is still running (or died running)."""
RETRY_PAUSE = 0.2

REFUSALS = {"rule_violation", "gift_limit_exceeded", "version_conflict", "precondition_failed"}
TIERS = ("key", "major", "standard")
RECIPIENTS = (("Dana Whitfield", "Acme Bank"), ("Lee Okafor", "Globex Capital"), ("Ana Souza", "Initrode"))
GIFT_DAYS = ("2025-12-15", "2026-06-15", "2026-11-02")
"""Two limit years ($100 in 2025, $300 in 2026), and nothing after today: a gift may not be dated in the future."""
GIFT_COST = "75.00"

EXPECTED_EVENTS: dict[str, Counter[str]] = {
    "contact": Counter({"ContactLogged": 1}),
    "demo": Counter({"DemoScheduled": 1}),
    "tier": Counter({"TierChanged": 1}),
    "gift": Counter({"GiftGiven": 1, "GiftReceived": 1}),
}
"""The events one write of each kind stores (a first gift to someone also registers and indexes them)."""


@dataclass
class Write:
    kind: str
    relationship_id: str
    correlation_id: str
    outcome: str = UNACKNOWLEDGED
    status: int | None = None
    body: dict[str, Any] | None = None
    answers: list[str] = field(default_factory=list)
    """What each attempt got: a status and problem code, or the connection error."""


@dataclass
class Journal:
    """Everything the clients did and saw, shared by the threads."""

    writes: list[Write] = field(default_factory=list)
    reads: Counter[str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    faults_seen: list[tuple[float, str]] = field(default_factory=list)
    """(when, what): each 503 or broken connection a client met."""
    successes: list[float] = field(default_factory=list)
    """When each request that got a definite answer was sent."""
    versions: dict[str, int] = field(default_factory=dict)
    """Per relationship, the highest version any write was acknowledged at."""
    done: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    progress: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.progress = threading.Condition(self.lock)

    def fault(self, what: str) -> None:
        with self.lock:
            self.faults_seen.append((time.monotonic(), what))
            self.progress.notify_all()

    def success(self, sent_at: float) -> None:
        with self.lock:
            self.successes.append(sent_at)

    def finished_one(self) -> None:
        with self.lock:
            self.done += 1
            self.progress.notify_all()

    def wait_for(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        with self.progress:
            if not self.progress.wait_for(condition, timeout):
                raise AssertionError(f"Gave up after {timeout} s waiting for {what}")

    def summary(self) -> dict[str, int]:
        """How the writes ended, how many reads were answered, and how many faults clients met (for the log)."""
        outcomes = Counter(write.outcome for write in self.writes)
        already = sum(1 for write in self.writes if write.body and write.body.get("code") == "already_stored")
        retried = sum(1 for write in self.writes if len(write.answers) > 1)
        return {
            **outcomes,
            "already_stored": already,
            "writes_retried": retried,
            "reads": sum(self.reads.values()),
            "faults_seen": len(self.faults_seen),
        }

    def acknowledged_version(self, relationship_id: str, version: int) -> None:
        with self.lock:
            self.versions[relationship_id] = max(version, self.versions.get(relationship_id, 0))


@dataclass
class Client:
    """One front-end user, issuing `operations` requests in a random but reproducible mix."""

    number: int
    base_url: str
    token: str
    compliance_token: str
    """The gift register is for compliance officers: that read goes with their token."""
    relationships: list[str]
    journal: Journal
    operations: int
    until: threading.Event | None = None
    """If given, the client goes on past `operations` until it is set (so that a fault never finds it idle)."""

    def run(self) -> None:
        rng = random.Random(self.number)
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.base_url, headers=headers, timeout=30.0) as http:
            for number in itertools.count():
                if number >= self.operations and (self.until is None or self.until.is_set()):
                    break
                relationship_id = rng.choice(self.relationships)
                kind = rng.choices(
                    ("contact", "demo", "tier", "gift", "read_relationship", "read_workload", "read_register"),
                    (30, 10, 8, 22, 12, 10, 8),
                )[0]
                try:
                    if kind.startswith("read_"):
                        self.read(http, kind, relationship_id)
                    else:
                        self.write(http, kind, relationship_id, self.body(kind, rng, number))
                except Exception as error:  # a client bug must not hang the test: it fails it
                    self.unexpected(f"{kind}: {type(error).__name__}: {error}")
                self.journal.finished_one()

    def body(self, kind: str, rng: random.Random, number: int) -> tuple[str, str, dict[str, Any]]:
        """The method, path suffix and JSON body of a write of this kind."""
        if kind == "contact":
            return (
                "POST",
                "contacts",
                {
                    "occurred_at": f"2026-05-{1 + number % 28:02d}T09:{number % 60:02d}:00+00:00",
                    "channel": rng.choice(("call", "email", "meeting")),
                    "summary": f"Client {self.number} touch point {number}",
                },
            )
        if kind == "demo":
            return (
                "POST",
                "demos",
                {
                    "product": "Analytics suite",
                    "scheduled_for": f"2026-12-{1 + number % 28:02d}T14:00:00+00:00",
                    "location": "Client office",
                    "staff": [{"name": "Sam Engineer", "role": "technical"}],
                },
            )
        if kind == "tier":
            return "PUT", "tier", {"tier": rng.choice(TIERS)}
        name, employer = rng.choice(RECIPIENTS)
        return (
            "POST",
            "gifts",
            {
                "recipient": {"name": name, "employer": employer},
                "description": f"Hamper from client {self.number}",
                "given_on": rng.choice(GIFT_DAYS),
                "category": "general",
                "cost": GIFT_COST,
            },
        )

    def write(
        self, http: httpx.Client, kind: str, relationship_id: str, request: tuple[str, str, dict[str, Any]]
    ) -> None:
        method, suffix, body = request
        write = Write(kind=kind, relationship_id=relationship_id, correlation_id=f"load-{uuid.uuid4().hex}")
        with self.journal.lock:
            self.journal.writes.append(write)
        headers = {"X-Correlation-ID": write.correlation_id, "Idempotency-Key": write.correlation_id}
        started = time.monotonic()
        in_progress_since: float | None = None
        while True:
            sent_at = time.monotonic()
            try:
                response = http.request(
                    method, f"/v1/relationships/{relationship_id}/{suffix}", json=body, headers=headers
                )
            except httpx.TransportError as error:
                write.answers.append(type(error).__name__)
                self.journal.fault(f"{kind}: {type(error).__name__}")
            else:
                code = _problem_code(response)
                write.answers.append(f"{response.status_code} {code or ''}".strip())
                outcome = _definite(response, code)
                if outcome is not None:
                    write.outcome, write.status, write.body = outcome, response.status_code, response.json()
                    if response.is_success:
                        self.journal.acknowledged_version(relationship_id, int(write.body["version"]))
                    self.journal.success(sent_at)
                    return
                if code == "idempotency_in_progress":
                    in_progress_since = in_progress_since or sent_at
                    if time.monotonic() - in_progress_since > IN_PROGRESS_FOR:
                        return  # its first attempt died running: unacknowledged
                elif response.status_code == 503:
                    self.journal.fault(f"{kind}: 503 {code}")
                else:
                    write.status = response.status_code
                    self.unexpected(f"{kind} {relationship_id}: {response.status_code} {response.text[:300]}")
                    return
            if time.monotonic() - started > RETRY_FOR:
                return
            time.sleep(RETRY_PAUSE)

    def read(self, http: httpx.Client, kind: str, relationship_id: str) -> None:
        known_version = self.journal.versions.get(relationship_id, 0)
        path = {
            "read_relationship": f"/v1/relationships/{relationship_id}",
            "read_workload": "/v1/workload",
            "read_register": "/v1/compliance/gift-register",
        }[kind]
        params = {"year": "2026"} if kind == "read_register" else {}
        headers = {"Authorization": f"Bearer {self.compliance_token}"} if kind == "read_register" else {}
        sent_at = time.monotonic()
        try:
            response = http.get(path, params=params, headers=headers)
        except httpx.TransportError as error:
            self.journal.fault(f"{kind}: {type(error).__name__}")
            return
        if response.status_code == 503:
            self.journal.fault(f"{kind}: 503 {_problem_code(response)}")
            return
        if response.status_code != 200:
            self.unexpected(f"{kind}: {response.status_code} {response.text[:300]}")
            return
        self.journal.success(sent_at)
        with self.journal.lock:
            self.journal.reads[kind] += 1
        if kind == "read_relationship" and response.json()["version"] < known_version:
            self.unexpected(
                f"{relationship_id} read at version {response.json()['version']} after a write at {known_version}"
            )

    def unexpected(self, what: str) -> None:
        with self.journal.lock:
            self.journal.unexpected.append(what)


def _definite(response: httpx.Response, code: str | None) -> str | None:
    """ACKNOWLEDGED for a 2xx, or for `already_stored` (an earlier attempt was stored, its answer lost);
    REFUSED for a definite no; None while the answer says nothing yet."""
    if response.is_success or code == "already_stored":
        return ACKNOWLEDGED
    return REFUSED if code in REFUSALS else None


def _problem_code(response: httpx.Response) -> str | None:
    if not response.headers.get("content-type", "").startswith("application/problem+json"):
        return None
    code = response.json().get("code")
    return str(code) if code is not None else None


def run_clients(
    base_url: str,
    tokens: tuple[str, str],
    relationships: list[str],
    journal: Journal,
    *,
    clients: int,
    operations: int,
    until: threading.Event | None = None,
) -> list[threading.Thread]:
    """Starts the client threads (each `operations` requests, and on until `until` is set if given) and returns
    them, running.

    `tokens` are a manager's (for the commands and most reads) and a compliance officer's.
    """
    manager, compliance = tokens
    threads = [
        threading.Thread(
            target=Client(number, base_url, manager, compliance, relationships, journal, operations, until).run,
            name=f"client-{number}",
        )
        for number in range(clients)
    ]
    for thread in threads:
        thread.start()
    return threads
