"""Gifts given at the same moment never together pass a person's limit (FINRA Rule 3220), in threads or processes."""

from __future__ import annotations

import multiprocessing
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from multiprocessing.queues import Queue
from uuid import UUID

import pytest

from domain.application import GiftResult, Ledger
from domain.commands import GiveGift, NamedRecipient, OpenRelationship, RegisterAccountManager
from domain.errors import GiftLimitExceeded, VersionConflict
from domain.gift_recipient import GiftRecipient
from domain.relationship import GiftGiven
from domain.values import Role
from tests.conftest import audit_as
from tests.integration import workers

GIVEN_ON = date(2026, 5, 1)  # after 2026-03-30, so the limit in force is $300
LIMIT = Decimal("300.00")
GIFT_COST = "100.00"


def open_relationships(ledger: Ledger, count: int) -> list[UUID]:
    manager = audit_as(Role.MANAGER)
    account_manager = ledger.register_account_manager(
        manager, RegisterAccountManager(name="Ann Lee", email=f"ann.{uuid.uuid4().hex[:6]}@example.com")
    )
    return [
        ledger.open_relationship(
            manager,
            OpenRelationship(
                client_name=f"Client {uuid.uuid4().hex[:8]}",
                client_kind="corporate",
                industry="financial_services",
                tier="major",
                account_manager_id=account_manager.id,
            ),
        ).id
        for _ in range(count)
    ]


def a_recipient() -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:6]
    return f"Jane Roe {suffix}", f"Globex Securities {suffix}"


def gift_ids_on_relationships(ledger: Ledger, relationship_ids: list[UUID]) -> list[UUID]:
    return [
        event.gift_id
        for relationship_id in relationship_ids
        for event in ledger.history(relationship_id)
        if isinstance(event, GiftGiven)
    ]


def assert_exactly_three_gifts_stored(
    ledger: Ledger, relationship_ids: list[UUID], recipient_id: UUID, given: set[UUID]
) -> None:
    # Both sides of every accepted gift are stored, and nothing of a refused one.
    assert len(given) == 3
    recipient = ledger.gift_recipient(recipient_id)
    assert {gift.gift_id for gift in recipient.gifts} == given
    assert sum((gift.counted_value for gift in recipient.gifts), Decimal("0.00")) == LIMIT
    assert recipient.version == 1 + 3
    stored_on_relationships = gift_ids_on_relationships(ledger, relationship_ids)
    assert sorted(stored_on_relationships) == sorted(given)
    assert sum(ledger.relationship(r).gifts_given for r in relationship_ids) == 3


@pytest.mark.parametrize("relationship_count", [1, 4], ids=["from-one-relationship", "from-four-relationships"])
def test_sixteen_simultaneous_hundred_dollar_gifts_to_one_person_let_exactly_three_through(
    ledger: Ledger, relationship_count: int
) -> None:
    relationship_ids = open_relationships(ledger, relationship_count)
    recipient_name, employer = a_recipient()
    recipient_id = GiftRecipient.id_for(recipient_name, employer)
    threads = 16
    start = threading.Barrier(threads)

    def give(number: int) -> GiftResult:
        audit = audit_as(Role.MANAGER)
        relationship_id = relationship_ids[number % relationship_count]
        start.wait(timeout=30)
        return ledger.give_gift(
            audit,
            relationship_id,
            GiveGift(
                recipient=NamedRecipient(name=recipient_name, employer=employer),
                description=f"Hamper {number}",
                given_on=GIVEN_ON,
                category="general",
                cost=GIFT_COST,
            ),
        )

    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(give, number) for number in range(threads)]
        outcomes = [future.exception(timeout=120) or future.result() for future in futures]

    given = [outcome for outcome in outcomes if isinstance(outcome, GiftResult)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, GiftLimitExceeded)]
    gave_up = [outcome for outcome in outcomes if isinstance(outcome, VersionConflict)]
    unexpected = [o for o in outcomes if not isinstance(o, GiftResult | GiftLimitExceeded | VersionConflict)]
    assert unexpected == []
    assert len(given) == 3, f"{len(given)} given, {len(refused)} refused, {len(gave_up)} gave up"
    assert len(refused) + len(gave_up) == threads - 3
    assert all(result.counted_value == Decimal("100.00") for result in given)
    # Every refusal saw the three accepted gifts: the check read current state, not a stale copy.
    for refusal in refused:
        assert (refusal.refusal.limit, refusal.refusal.counted_this_year, refusal.refusal.headroom) == (
            LIMIT,
            LIMIT,
            Decimal("0.00"),
        )
        assert refusal.refusal.limit_year == "2026"

    assert_exactly_three_gifts_stored(ledger, relationship_ids, recipient_id, {result.gift_id for result in given})


def test_four_processes_giving_two_gifts_each_at_once_let_exactly_three_through(
    database_url: str, ledger: Ledger
) -> None:
    (relationship_id,) = open_relationships(ledger, 1)
    ledger.gift_policy()  # established once here rather than raced for by the workers
    recipient_name, employer = a_recipient()
    recipient_id = GiftRecipient.id_for(recipient_name, employer)
    processes, attempts = 4, 2
    context = multiprocessing.get_context("spawn")
    startup, start = context.Lock(), context.Barrier(processes)
    report: Queue[tuple[int, list[workers.Outcome]]] = context.Queue()
    running = [
        context.Process(
            target=workers.give_gifts_together,
            args=(database_url, str(relationship_id), recipient_name, employer, attempts, startup, start, report),
        )
        for _ in range(processes)
    ]
    for process in running:
        process.start()
    try:
        reports = [report.get(timeout=120) for _ in running]
    finally:
        for process in running:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    assert [process.exitcode for process in running] == [0] * processes

    outcomes = [outcome for _, worker_outcomes in reports for outcome in worker_outcomes]
    failures = [detail for kind, detail in outcomes if kind == workers.FAILED]
    assert failures == []
    assert len(outcomes) == processes * attempts
    given = {UUID(detail) for kind, detail in outcomes if kind == workers.GIVEN}
    assert len(given) == 3, outcomes
    refusals = [detail for kind, detail in outcomes if kind == workers.REFUSED]
    gave_up = [detail for kind, detail in outcomes if kind == workers.GAVE_UP]
    assert len(refusals) + len(gave_up) == processes * attempts - 3
    assert refusals == ["300.00"] * len(refusals)

    assert_exactly_three_gifts_stored(ledger, [relationship_id], recipient_id, given)


def test_a_gift_checked_against_a_total_that_changed_before_it_was_saved_is_checked_again_and_refused(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow_relationship, quick_relationship = open_relationships(ledger, 2)
    recipient_name, employer = a_recipient()
    recipient_id = GiftRecipient.id_for(recipient_name, employer)

    def give(relationship_id: UUID, description: str) -> GiftResult:
        return ledger.give_gift(
            audit_as(Role.MANAGER),
            relationship_id,
            GiveGift(
                recipient=NamedRecipient(name=recipient_name, employer=employer),
                description=description,
                given_on=GIVEN_ON,
                category="general",
                cost=GIFT_COST,
            ),
        )

    earlier = {
        give(quick_relationship, "Earlier hamper 1").gift_id,
        give(quick_relationship, "Earlier hamper 2").gift_id,
    }

    # The slow gift passes its check against $200 and then waits, before saving, until a quick gift has landed.
    checked, resume = threading.Event(), threading.Event()
    checks_by_slow_thread: list[int] = []
    receive_gift = GiftRecipient.receive_gift

    def receive_then_pause(self: GiftRecipient, *args: object, **kwargs: object) -> None:
        is_slow = threading.current_thread().name == "slow"
        if is_slow:
            checks_by_slow_thread.append(len(self.gifts))
        receive_gift(self, *args, **kwargs)  # type: ignore[arg-type]
        if is_slow and len(checks_by_slow_thread) == 1:
            checked.set()
            assert resume.wait(timeout=30)

    monkeypatch.setattr(GiftRecipient, "receive_gift", receive_then_pause)
    outcome: list[BaseException | GiftResult] = []

    def slow() -> None:
        try:
            outcome.append(give(slow_relationship, "Slow hamper"))
        except Exception as error:  # the outcome is asserted below
            outcome.append(error)

    slow_thread = threading.Thread(target=slow, name="slow")
    slow_thread.start()
    assert checked.wait(timeout=30)
    quick = give(quick_relationship, "Quick hamper")
    resume.set()
    slow_thread.join(timeout=30)
    assert not slow_thread.is_alive()

    # The slow gift's save lost the race on the recipient, so it was checked again, against three gifts, and refused.
    assert checks_by_slow_thread == [2, 3]
    (refused,) = outcome
    assert isinstance(refused, GiftLimitExceeded)
    assert refused.refusal.counted_this_year == LIMIT
    # Nothing of it reached the slow relationship either: both sides are saved together or not at all.
    assert gift_ids_on_relationships(ledger, [slow_relationship]) == []
    assert_exactly_three_gifts_stored(
        ledger, [slow_relationship, quick_relationship], recipient_id, {*earlier, quick.gift_id}
    )
