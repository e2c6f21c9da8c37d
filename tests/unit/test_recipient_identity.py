"""One person is one recipient however their name is typed; look-alikes are confirmed; shares name everyone."""

# ruff: noqa: RUF001 - the look-alike letters are the point of these tests

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.application import GiftResult, Ledger
from domain.commands import GiveGift, MergeRecipients, OpenRelationship, RegisterAccountManager
from domain.errors import Forbidden, GiftLimitExceeded, InvalidInput, LikelySameRecipient, NotFound, RuleViolation
from domain.gift_recipient import GiftRecipient, RecipientRegistered
from domain.recipient_identity import firm_key, identity_key, person_key
from domain.values import Audit, Role
from tests.conftest import audit_as

SPELLINGS_OF_JANE_ROE_AT_ACME = [
    ("Jane Roe", "Acme"),
    ("Jаne Roe", "Acme"),  # a Cyrillic a
    ("Jane Roe", "Асme"),  # a Cyrillic A and c
    ("Ja\u200bne Roe", "Acme"),  # a zero-width space
    ("Jane\u200d Roe", "Acme"),  # a zero-width joiner
    ("Ja\u00adne Roe", "Acme"),  # a soft hyphen
    ("\ufeffJane Roe", "Acme"),  # a byte-order mark
    ("Ｊａｎｅ Ｒｏｅ", "Ａｃｍｅ"),  # full-width letters
    ("Jane Roe.", "Acme."),  # a trailing full stop
    ("Jane Roe", "Acme Inc."),
    ("Jane Roe", "ACME, L.L.C."),
    ("Jane Roe", "The Acme Corp"),
    ("JANE   ROE", "acme gmbh"),
    ("Jane Roé", "Acme"),  # an accent, precomposed
    ("Jane Roe\u0301", "Acme"),  # and decomposed
]


@pytest.mark.parametrize(("name", "employer"), SPELLINGS_OF_JANE_ROE_AT_ACME)
def test_every_spelling_of_one_person_folds_to_one_identity(name: str, employer: str) -> None:
    assert identity_key(name, employer) == identity_key("Jane Roe", "Acme")
    assert GiftRecipient.id_for(name, employer) == GiftRecipient.id_for("Jane Roe", "Acme")


def test_different_people_and_firms_keep_different_identities() -> None:
    assert person_key("Jane Roe") != person_key("Jane Rowe")
    assert firm_key("Acme") != firm_key("Acme Bank")
    assert firm_key("The Company") == "company"  # a firm named only by a legal form keeps it
    assert person_key("O'Brien") == person_key("OBrien")


@pytest.fixture
def app() -> Iterator[Ledger]:
    ledger = Ledger(clock=lambda: datetime(2026, 11, 27, 12, tzinfo=UTC))
    yield ledger
    ledger.close()


@pytest.fixture
def manager() -> Audit:
    return audit_as(Role.MANAGER)


@pytest.fixture
def relationship_id(app: Ledger, manager: Audit) -> UUID:
    email = f"am-{uuid4().hex[:10]}@example.com"
    account_manager_id = app.register_account_manager(manager, RegisterAccountManager(name="Ann Lee", email=email)).id
    return app.open_relationship(
        manager,
        OpenRelationship(
            client_name="Globex",
            client_kind="corporate",
            industry="financial_services",
            tier="major",
            account_manager_id=account_manager_id,
        ),
    ).id


def give(
    app: Ledger, audit: Audit, relationship_id: UUID, name: str, employer: str, cost: str, **more: Any
) -> GiftResult:
    return app.give_gift(
        audit,
        relationship_id,
        GiveGift(
            # A dict, not a NamedRecipient: a malformed name is refused by the command, as InvalidInput.
            recipient={
                "name": name,
                "employer": employer,
                "recipient_id": more.pop("recipient_id", None),
                "distinct_from": more.pop("distinct_from", []),
            },
            description="Hamper",
            given_on=more.pop("given_on", date(2026, 6, 1)),
            category="general",
            cost=cost,
            **more,
        ),
    )


def test_twelve_spellings_of_one_person_share_one_300_dollar_limit(
    app: Ledger, manager: Audit, relationship_id: UUID
) -> None:
    accepted = Decimal(0)
    for name, employer in SPELLINGS_OF_JANE_ROE_AT_ACME:
        # Each is refused for the limit, as a look-alike, or (invisible characters) as invalid, or else counted.
        with contextlib.suppress(GiftLimitExceeded, LikelySameRecipient, InvalidInput):
            accepted += give(app, manager, relationship_id, name, employer, "100.00").counted_value

    assert accepted == Decimal("300.00")


def test_a_new_recipient_who_resembles_a_known_one_is_refused_with_the_candidates(
    app: Ledger, manager: Audit, relationship_id: UUID
) -> None:
    first = give(app, manager, relationship_id, "Jonathan Smith", "Initech", "100.00")
    version = app.relationship(relationship_id).version

    with pytest.raises(LikelySameRecipient) as caught:
        give(app, manager, relationship_id, "Jonathon Smith", "Initech Holdings", "100.00")

    (candidate,) = caught.value.details()["candidates"]
    assert candidate["recipient_id"] == str(first.recipient_id)
    assert candidate["name"] == "Jonathan Smith"
    assert app.relationship(relationship_id).version == version  # nothing stored


def test_naming_the_known_recipient_counts_the_gift_on_them_and_keeps_the_spelling(
    app: Ledger, manager: Audit, relationship_id: UUID
) -> None:
    first = give(app, manager, relationship_id, "Jonathan Smith", "Initech", "200.00")

    second = give(
        app, manager, relationship_id, "Jonathon Smith", "Initech Holdings", "100.00", recipient_id=first.recipient_id
    )
    with pytest.raises(GiftLimitExceeded):
        give(app, manager, relationship_id, "Jonathon Smith", "Initech", "0.01", recipient_id=first.recipient_id)

    recipient = app.gift_recipient(first.recipient_id)
    assert second.recipient_id == first.recipient_id
    assert [(s.name, s.employer) for s in recipient.spellings] == [
        ("Jonathan Smith", "Initech"),
        ("Jonathon Smith", "Initech Holdings"),
    ]


def test_declaring_a_look_alike_someone_else_registers_them_with_the_declaration_on_record(
    app: Ledger, manager: Audit, relationship_id: UUID
) -> None:
    first = give(app, manager, relationship_id, "Jonathan Smith", "Initech", "100.00")

    second = give(
        app,
        manager,
        relationship_id,
        "Jonathon Smith",
        "Initech",
        "100.00",
        distinct_from=[first.recipient_id],
    )

    assert second.recipient_id != first.recipient_id
    registered = next(iter(app.history(second.recipient_id)))
    assert isinstance(registered, RecipientRegistered)
    assert registered.distinct_from == [first.recipient_id]
    assert registered.actor_id == manager.principal.id


def test_declaring_distinct_from_an_unknown_recipient_is_refused(
    app: Ledger, manager: Audit, relationship_id: UUID
) -> None:
    with pytest.raises(InvalidInput, match="distinct_from"):
        give(app, manager, relationship_id, "Grace Hopper", "Navy", "10.00", distinct_from=[uuid4()])


def test_a_recipient_registered_before_identity_keys_is_found_by_any_spelling(
    app: Ledger, manager: Audit, relationship_id: UUID
) -> None:
    # A recipient stored under the old id (case and spaces folded only), before the index existed.
    legacy_id = GiftRecipient.legacy_id_for("Jane Roe", "Acme Inc.")
    legacy = GiftRecipient._start(RecipientRegistered, manager, id=legacy_id, name="Jane Roe", employer="Acme Inc.")
    app.save(legacy)

    result = give(app, manager, relationship_id, "Jane Roe", "Acme", "100.00")

    assert result.recipient_id == legacy_id


def test_a_count_of_sharers_without_their_names_is_refused(app: Ledger, manager: Audit, relationship_id: UUID) -> None:
    with pytest.raises(InvalidInput, match="recipients_count"):
        give(app, manager, relationship_id, "Ada Moss", "Initech", "3000.00", recipients_count=10)


def test_each_person_sharing_a_gift_is_held_to_their_own_limit_in_one_transaction(
    app: Ledger, manager: Audit, relationship_id: UUID
) -> None:
    give(app, manager, relationship_id, "Carol Diaz", "Initech", "250.00")
    version = app.relationship(relationship_id).version

    with pytest.raises(GiftLimitExceeded):
        give(
            app,
            manager,
            relationship_id,
            "Ada Moss",
            "Initech",
            "200.00",
            shared_with=[{"name": "Carol Diaz", "employer": "Initech"}, {"name": "Dev Patel", "employer": "Initech"}],
        )

    assert app.relationship(relationship_id).version == version
    with pytest.raises(NotFound):
        app.gift_recipient(GiftRecipient.id_for("Ada Moss", "Initech"))


def test_one_person_named_twice_in_a_shared_gift_is_refused(app: Ledger, manager: Audit, relationship_id: UUID) -> None:
    with pytest.raises(InvalidInput, match="twice"):
        give(
            app,
            manager,
            relationship_id,
            "Ada Moss",
            "Initech",
            "200.00",
            shared_with=[{"name": "ADA MOSS", "employer": "Initech Inc."}],
        )


def test_merged_recipients_count_together_from_then_on_and_gifts_to_the_absorbed_go_to_the_survivor(
    app: Ledger, manager: Audit, relationship_id: UUID
) -> None:
    compliance = audit_as(Role.COMPLIANCE)
    survivor = give(app, manager, relationship_id, "Robert Tables", "Initech", "150.00")
    absorbed = give(app, manager, relationship_id, "Bobby Tables", "Initech", "100.00")

    app.merge_recipients(
        compliance, survivor.recipient_id, MergeRecipients(absorbed_id=absorbed.recipient_id, reason="Same person")
    )

    with pytest.raises(GiftLimitExceeded):
        give(app, manager, relationship_id, "Bobby Tables", "Initech", "50.01")
    later = give(app, manager, relationship_id, "Bobby Tables", "Initech", "50.00")
    assert later.recipient_id == survivor.recipient_id
    assert sum(g.counted_value for g in app.gift_recipient(survivor.recipient_id).gifts) == Decimal("300.00")
    with pytest.raises(RuleViolation, match="merged"):
        app.merge_recipients(
            compliance, absorbed.recipient_id, MergeRecipients(absorbed_id=survivor.recipient_id, reason="Again")
        )


def test_only_compliance_and_admins_merge_recipients(app: Ledger, manager: Audit, relationship_id: UUID) -> None:
    one = give(app, manager, relationship_id, "Robert Tables", "Initech", "10.00")
    two = give(app, manager, relationship_id, "Bobby Tables", "Initech", "10.00")

    with pytest.raises(Forbidden):
        app.merge_recipients(
            manager, one.recipient_id, MergeRecipients(absorbed_id=two.recipient_id, reason="Same person")
        )
