"""`WorkloadFacts.holds_until`: until that moment the clock alone changes nothing the workload works out, so a
body made at one moment may be served until then (and the moment is never later than the first change)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.values import Tier
from projections.base import utc_text
from projections.workload import RelationshipFacts
from projections.workload_query import WorkloadFacts, workload_rows

START = datetime(2026, 3, 1, tzinfo=UTC)
MANAGERS = ("m1", "m2")

moments = st.integers(min_value=0, max_value=60 * 24 * 40).map(lambda minutes: START + timedelta(minutes=minutes))
relationships = st.builds(
    lambda n, manager, tier, cadence, contact, follow_up: RelationshipFacts(
        relationship_id=f"r{n}",
        client_name=f"Client {n}",
        client_kind="corporate",
        industry="technology",
        tier=tier,
        status="open",
        account_manager_id=manager,
        cadence_days=cadence,
        last_contact_at=contact,
        next_follow_up_on=follow_up,
        opened_at=START - timedelta(days=60),
        position=n,
        version=1,
    ),
    st.integers(0, 10_000),
    st.sampled_from(MANAGERS),
    st.sampled_from(list(Tier)),
    st.sampled_from([7, 14, 30]),
    st.none() | moments,
    st.none() | moments.map(lambda moment: moment.date()),
)
demos = st.builds(
    lambda manager, at: {"account_manager_id": manager, "scheduled_for": utc_text(at), "demo_id": "d"},
    st.sampled_from(MANAGERS),
    moments,
)


def facts_of(open_relationships: list[RelationshipFacts], scheduled: list[dict[str, str]]) -> WorkloadFacts:
    return WorkloadFacts(
        managers=[{"account_manager_id": m, "name": m, "capacity": None} for m in MANAGERS],
        open_relationships=open_relationships,
        scheduled_demos=sorted(scheduled, key=lambda demo: demo["scheduled_for"]),
        proposals={},
        signed={"m1": Decimal(100)},
        quotas={"m1": Decimal(1000)},
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(relationships, max_size=12), st.lists(demos, max_size=8), moments, st.floats(0, 1))
def test_nothing_changes_before_the_moment_and_the_moment_is_a_change_or_the_end(
    open_relationships: list[RelationshipFacts], scheduled: list[dict[str, str]], now: datetime, fraction: float
) -> None:
    facts = facts_of(open_relationships, scheduled)
    until = facts.holds_until(now)
    made = workload_rows(facts, now)
    if until is None:
        later = now + timedelta(days=400)
        assert workload_rows(facts, later) == made
        return
    assert until >= now
    within = now + (until - now) * fraction
    if within < until:
        assert workload_rows(facts, within) == made
        assert [r.is_overdue(within) for r in open_relationships] == [r.is_overdue(now) for r in open_relationships]
        assert facts.upcoming_demos(within) == facts.upcoming_demos(now)
    # Just past the moment, something the workload works out has changed (the moment is not needlessly early).
    just_after = until + timedelta(microseconds=1)
    assert (
        workload_rows(facts, just_after) != made
        or [d["scheduled_for"] for d in facts.upcoming_demos(just_after)]
        != [d["scheduled_for"] for d in facts.upcoming_demos(now)]
        or any(r.is_overdue(just_after) != r.is_overdue(now) for r in open_relationships)
    )


def test_a_follow_up_falling_due_ends_the_body_at_that_moment() -> None:
    due = RelationshipFacts(
        relationship_id="r1",
        client_name="Acme",
        client_kind="corporate",
        industry="technology",
        tier=Tier.KEY,
        status="open",
        account_manager_id="m1",
        cadence_days=30,
        last_contact_at=START,
        next_follow_up_on=date(2026, 3, 3),
        opened_at=START - timedelta(days=60),
        position=1,
        version=1,
    )
    facts = facts_of([due], [])
    assert facts.holds_until(START) == datetime(2026, 3, 4, tzinfo=UTC)  # the day after the follow-up date
    assert workload_rows(facts, datetime(2026, 3, 4, tzinfo=UTC))[0].overdue_follow_ups == 0
    assert workload_rows(facts, datetime(2026, 3, 4, 0, 0, 1, tzinfo=UTC))[0].overdue_follow_ups == 1
