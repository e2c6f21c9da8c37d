"""Who may do what: the role table of DOMAIN.md, on its own and as the ledger enforces it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from domain.application import Ledger
from domain.commands import (
    AssignAccountManager,
    ChangeTier,
    CloseRelationship,
    CorrectEntry,
    DeactivateAccountManager,
    GiveGift,
    LogContact,
    NamedRecipient,
    OpenRelationship,
    ProposeContract,
    RegisterAccountManager,
    ScheduleGiftLimit,
    SetLimitYear,
    SetQuota,
)
from domain.errors import Forbidden
from domain.permissions import Action, check_allowed
from domain.values import Audit, Principal, Role
from tests.conftest import audit_as

NOW = datetime(2026, 5, 4, 15, 0, tzinfo=UTC)

# The role table of DOMAIN.md, written out again rather than read from the code.
ALLOWED: dict[Action, set[Role]] = {
    Action.MANAGE_ACCOUNT_MANAGERS: {Role.MANAGER, Role.ADMIN},
    Action.OPEN_RELATIONSHIP: {Role.ACCOUNT_MANAGER, Role.MANAGER, Role.ADMIN},
    Action.ASSIGN: {Role.MANAGER, Role.ADMIN},
    Action.RECORD_ON_RELATIONSHIP: {Role.ACCOUNT_MANAGER, Role.MANAGER, Role.ADMIN},
    Action.CHANGE_GIFT_POLICY: {Role.COMPLIANCE, Role.ADMIN},
    Action.DECIDE_CORRECTION: {Role.MANAGER, Role.ADMIN},
    Action.DECIDE_PRECLEARANCE: {Role.COMPLIANCE, Role.ADMIN},
    Action.WORK_CASES: {Role.COMPLIANCE, Role.ADMIN},
    Action.ATTEST: {Role.ACCOUNT_MANAGER, Role.ADMIN},
}

ROLE_TABLE = [(action, role) for action in Action for role in Role]


@pytest.fixture
def app() -> Iterator[Ledger]:
    ledger = Ledger()
    yield ledger
    ledger.close()


def register(app: Ledger) -> UUID:
    email = f"am-{uuid4().hex[:10]}@example.com"
    return app.register_account_manager(audit_as(Role.MANAGER), RegisterAccountManager(name="Ann Lee", email=email)).id


def open_relationship(app: Ledger, account_manager_id: UUID) -> UUID:
    return app.open_relationship(
        audit_as(Role.MANAGER),
        OpenRelationship(
            client_name=f"Client {uuid4().hex[:8]}",
            client_kind="corporate",
            industry="public_relations",
            tier="standard",
            account_manager_id=account_manager_id,
        ),
    ).id


def as_account_manager(account_manager_id: UUID) -> Audit:
    return audit_as(Role.ACCOUNT_MANAGER, account_manager_id=account_manager_id)


def forbidden(app: Ledger, command: Callable[[], object]) -> Forbidden:
    """Runs a command that must be forbidden, and checks that it stored nothing."""
    before = app.recorder.max_notification_id()
    with pytest.raises(Forbidden) as caught:
        command()
    assert app.recorder.max_notification_id() == before
    return caught.value


# -- the role table ----------------------------------------------------------


@pytest.mark.parametrize(("action", "role"), ROLE_TABLE, ids=[f"{r.value}-{a.name.lower()}" for a, r in ROLE_TABLE])
def test_each_role_may_do_exactly_what_the_role_table_allows(action: Action, role: Role) -> None:
    account_manager_id = uuid4()
    principal = Principal(id="someone", role=role, account_manager_id=account_manager_id)

    if role in ALLOWED[action]:
        check_allowed(principal, action, account_manager_id=account_manager_id)
    else:
        with pytest.raises(Forbidden, match=role.value) as caught:
            check_allowed(principal, action, account_manager_id=account_manager_id)
        assert caught.value.code == "forbidden"


@pytest.mark.parametrize("action", [Action.OPEN_RELATIONSHIP, Action.RECORD_ON_RELATIONSHIP])
def test_an_account_manager_may_act_only_for_themself(action: Action) -> None:
    principal = Principal(id="ann", role=Role.ACCOUNT_MANAGER, account_manager_id=uuid4())

    with pytest.raises(Forbidden, match="only for relationships assigned to them"):
        check_allowed(principal, action, account_manager_id=uuid4())
    with pytest.raises(Forbidden):
        check_allowed(principal, action, account_manager_id=None)


def test_an_account_manager_principal_not_linked_to_an_account_manager_may_do_nothing() -> None:
    principal = Principal(id="ann", role=Role.ACCOUNT_MANAGER)

    with pytest.raises(Forbidden, match="not linked"):
        check_allowed(principal, Action.RECORD_ON_RELATIONSHIP, account_manager_id=None)


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN])
def test_a_manager_or_admin_may_record_on_any_relationship(role: Role) -> None:
    check_allowed(Principal(id="boss", role=role), Action.RECORD_ON_RELATIONSHIP, account_manager_id=uuid4())


# -- through the ledger ------------------------------------------------------


RELATIONSHIP_COMMANDS: dict[str, Callable[[Ledger, Audit, UUID], object]] = {
    "log contact": lambda app, a, r: app.log_contact(a, r, LogContact(occurred_at=NOW, channel="call", summary="x")),
    "change tier": lambda app, a, r: app.change_tier(a, r, ChangeTier(tier="key")),
    "propose contract": lambda app, a, r: app.propose_contract(
        a, r, ProposeContract(title="Retainer", value="100.00", starts_on=date(2026, 6, 1), ends_on=date(2026, 12, 1))
    ),
    "give gift": lambda app, a, r: app.give_gift(
        a,
        r,
        GiveGift(
            recipient=NamedRecipient(name="Bob Smith", employer="Acme"),
            description="Wine",
            given_on=date(2026, 5, 1),
            category="general",
            cost="50.00",
        ),
    ),
    "correct entry": lambda app, a, r: app.correct_entry(
        a, r, CorrectEntry(corrects_version=1, reason="typo", changes={"client_name": "X"})
    ),
    "close": lambda app, a, r: app.close_relationship(a, r, CloseRelationship(reason="done")),
}


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.COMPLIANCE])
@pytest.mark.parametrize("command", RELATIONSHIP_COMMANDS.values(), ids=RELATIONSHIP_COMMANDS)
def test_auditors_and_compliance_cannot_record_on_relationships(
    app: Ledger, role: Role, command: Callable[[Ledger, Audit, UUID], object]
) -> None:
    relationship_id = open_relationship(app, register(app))

    forbidden(app, lambda: command(app, audit_as(role), relationship_id))


@pytest.mark.parametrize("command", RELATIONSHIP_COMMANDS.values(), ids=RELATIONSHIP_COMMANDS)
def test_an_account_manager_records_on_their_own_relationship_but_not_on_anothers(
    app: Ledger, command: Callable[[Ledger, Audit, UUID], object]
) -> None:
    ann, bob = register(app), register(app)
    anns, bobs = open_relationship(app, ann), open_relationship(app, bob)

    command(app, as_account_manager(ann), anns)

    forbidden(app, lambda: command(app, as_account_manager(ann), bobs))


def test_an_account_manager_loses_the_right_to_record_once_the_relationship_is_reassigned(app: Ledger) -> None:
    ann, bob = register(app), register(app)
    relationship_id = open_relationship(app, ann)
    app.log_contact(
        as_account_manager(ann), relationship_id, LogContact(occurred_at=NOW, channel="call", summary="Mine")
    )

    # A manager hands the relationship to Bob.
    app.assign_account_manager(
        audit_as(Role.MANAGER), relationship_id, AssignAccountManager(account_manager_id=bob, reason="cover")
    )

    forbidden(
        app,
        lambda: app.log_contact(
            as_account_manager(ann), relationship_id, LogContact(occurred_at=NOW, channel="call", summary="x")
        ),
    )
    result = app.log_contact(
        as_account_manager(bob), relationship_id, LogContact(occurred_at=NOW, channel="call", summary="y")
    )
    assert result.version == 4


def test_an_account_manager_opens_relationships_for_themself_only(app: Ledger) -> None:
    ann, bob = register(app), register(app)

    opened = app.open_relationship(
        as_account_manager(ann),
        OpenRelationship(
            client_name="Initech", client_kind="corporate", industry="advertising", tier="major", account_manager_id=ann
        ),
    )

    assert app.relationship(opened.id).account_manager_id == ann
    forbidden(
        app,
        lambda: app.open_relationship(
            as_account_manager(ann),
            OpenRelationship(
                client_name="Initech",
                client_kind="corporate",
                industry="advertising",
                tier="major",
                account_manager_id=bob,
            ),
        ),
    )


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.COMPLIANCE])
def test_auditors_and_compliance_cannot_open_relationships(app: Ledger, role: Role) -> None:
    account_manager_id = register(app)

    forbidden(
        app,
        lambda: app.open_relationship(
            audit_as(role),
            OpenRelationship(
                client_name="Initech",
                client_kind="corporate",
                industry="advertising",
                tier="major",
                account_manager_id=account_manager_id,
            ),
        ),
    )


@pytest.mark.parametrize("role", [Role.ACCOUNT_MANAGER, Role.COMPLIANCE, Role.AUDITOR])
def test_only_a_manager_or_admin_assigns_a_relationship(app: Ledger, role: Role) -> None:
    ann, bob = register(app), register(app)
    relationship_id = open_relationship(app, ann)

    forbidden(
        app,
        lambda: app.assign_account_manager(
            audit_as(role, account_manager_id=ann),
            relationship_id,
            AssignAccountManager(account_manager_id=bob, reason="mine now"),
        ),
    )


@pytest.mark.parametrize("role", [Role.ACCOUNT_MANAGER, Role.COMPLIANCE, Role.AUDITOR])
def test_only_a_manager_or_admin_registers_and_manages_account_managers(app: Ledger, role: Role) -> None:
    ann = register(app)
    audit = audit_as(role, account_manager_id=ann)

    forbidden(
        app, lambda: app.register_account_manager(audit, RegisterAccountManager(name="Eve", email="eve@example.com"))
    )
    forbidden(app, lambda: app.set_quota(audit, ann, 2026, SetQuota(amount="1.00")))
    forbidden(app, lambda: app.deactivate_account_manager(audit, ann, DeactivateAccountManager(reason="x")))


@pytest.mark.parametrize("role", [Role.ACCOUNT_MANAGER, Role.MANAGER, Role.AUDITOR])
def test_only_compliance_or_an_admin_changes_the_gift_policy(app: Ledger, role: Role) -> None:
    audit = audit_as(role, account_manager_id=uuid4())

    forbidden(
        app,
        lambda: app.schedule_gift_limit(
            audit, ScheduleGiftLimit(effective_from=date(2026, 6, 1), amount="50.00", reason="Lowered")
        ),
    )
    forbidden(app, lambda: app.set_limit_year(audit, SetLimitYear(kind="rolling_12_months")))


@pytest.mark.parametrize("role", [Role.COMPLIANCE, Role.ADMIN])
def test_compliance_and_admins_change_the_gift_policy(app: Ledger, role: Role) -> None:
    audit = audit_as(role)

    app.schedule_gift_limit(audit, ScheduleGiftLimit(effective_from=date(2026, 6, 1), amount="50.00", reason="Lowered"))
    app.set_limit_year(audit, SetLimitYear(kind="fiscal", start_month=10))

    policy = app.gift_policy()
    assert policy.limit_schedule[-1].amount == Decimal("50.00")
    assert (policy.limit_year.kind, policy.limit_year.start_month) == ("fiscal", 10)
    assert [e.actor_role for e in app.history(policy.id)][1:] == [role, role]
