"""The day-to-day work on a relationship: contacts, introductions, demos, proposals and their signing,
entertainment, and corrections of recent mistakes."""

from __future__ import annotations

import heapq
from datetime import timedelta
from decimal import Decimal
from uuid import UUID

from domain.commands import (
    CancelDemo,
    CompleteDemo,
    CorrectEntry,
    IntroduceProduct,
    LogContact,
    ProposeContract,
    ProvideEntertainment,
    RescheduleDemo,
    ScheduleDemo,
    SignContract,
    StaffMember,
)
from domain.model import LedgerEvent
from domain.relationship import ContactLogged, EntertainmentProvided, ProductIntroduced
from domain.values import CENT, ClientKind, IntroductionOutcome, RelationshipStatus, StaffRole
from scripts.seed.cast import (
    CHANNEL_WEIGHTS,
    CONTACT_SUMMARIES,
    CONTRACT_VALUES,
    DEMO_CANCEL_REASONS,
    DEMO_OUTCOMES_OTHER,
    DEMO_OUTCOMES_POSITIVE,
    ENTERTAINMENT,
    INDIVIDUAL_PRODUCTS,
    PRODUCTS,
    STAFF,
    TERMINATED_SHARE,
)
from scripts.seed.plan import HISTORY_STARTS
from scripts.seed.story import Client, Story


class DayToDay(Story):
    """Chooses the day-to-day work on a relationship, and has the writer record it."""

    def do_contact(self, client: Client) -> None:
        rng = self.rng
        channel = rng.choices(tuple(CHANNEL_WEIGHTS), tuple(CHANNEL_WEIGHTS.values()))[0]
        occurred_at = self.clock.moment(client.time_zone)
        cadence = client.aggregate.cadence_days or client.aggregate.tier.default_cadence_days
        follow_up = occurred_at.date() + timedelta(days=cadence) if rng.random() < 0.6 else None
        audit = self.acting(client)
        command = LogContact(
            occurred_at=occurred_at,
            channel=channel,
            summary=rng.choice(CONTACT_SUMMARIES[channel]),
            next_follow_up_on=follow_up,
        )
        contact = self.writer.log_contact(audit, client.aggregate, command)
        if client.aggregate.last_contact_version == contact.originator_version:
            client.latest_contact = contact
        self.remember(client, contact)

    def products_for(self, client: Client) -> tuple[str, ...]:
        if client.aggregate.client_kind is ClientKind.INDIVIDUAL:
            return INDIVIDUAL_PRODUCTS
        return PRODUCTS[client.aggregate.industry]

    def do_introduce(self, client: Client) -> None:
        product = self.rng.choice(self.products_for(client))
        outcome = self.rng.choices(
            (IntroductionOutcome.INTERESTED, IntroductionOutcome.PENDING, IntroductionOutcome.DECLINED), (45, 35, 20)
        )[0]
        audit = self.acting(client)
        command = IntroduceProduct(product=product, occurred_at=self.clock.moment(client.time_zone), outcome=outcome)
        introduced = self.writer.introduce_product(audit, client.aggregate, command)
        if outcome is IntroductionOutcome.INTERESTED and product not in client.interested:
            client.interested.append(product)
        self.remember(client, introduced)

    def do_demo(self, client: Client) -> None:
        rng = self.rng
        product = rng.choice(client.interested or self.products_for(client))
        crew = rng.sample(STAFF, rng.randint(1, 3))
        if all(role is not StaffRole.TECHNICAL for _, role in crew):
            crew.append(rng.choice(STAFF[:5]))
        location = rng.choice(
            (f"Client office, {client.city}", "Video call", f"Our briefing centre, {client.city}", "Client office")
        )
        scheduled_for = self.clock.appointment(client.time_zone, self.clock.now(), (3, 21))
        audit = self.acting(client)
        command = ScheduleDemo(
            product=product,
            scheduled_for=scheduled_for,
            location=location,
            staff=[StaffMember(name=name, role=role) for name, role in crew],
        )
        demo_id = self.writer.schedule_demo(audit, client.aggregate, command, demo_id=self.uuid())
        client.scheduled_demos.append(demo_id)
        heapq.heappush(self.demos_due, (scheduled_for, self.next_sequence(), client.index, demo_id, 0))
        self.summary.demos_scheduled += 1

    def demo_comes_due(self, index: int, demo_id: UUID, reschedules: int) -> None:
        """A demo's day: now and then it moves or is cancelled; else it takes place, and may lead to a proposal."""
        client = self.clients[index]
        if demo_id not in client.scheduled_demos or client.aggregate.status is RelationshipStatus.CLOSED:
            return
        roll = self.rng.random()
        if roll < 0.1 and reschedules < 2:
            scheduled_for = self.clock.appointment(client.time_zone, self.clock.now(), (2, 14))
            moved = RescheduleDemo(scheduled_for=scheduled_for)
            self.writer.reschedule_demo(self.acting(client), client.aggregate, demo_id, moved)
            heapq.heappush(self.demos_due, (scheduled_for, self.next_sequence(), index, demo_id, reschedules + 1))
            return
        client.scheduled_demos.remove(demo_id)
        if roll < 0.2:
            audit = self.acting(client)
            cancelled = CancelDemo(reason=self.rng.choice(DEMO_CANCEL_REASONS))
            self.writer.cancel_demo(audit, client.aggregate, demo_id, cancelled)
            self.summary.demos_cancelled += 1
            return
        positive = self.rng.random() < 0.5
        outcome = self.rng.choice(DEMO_OUTCOMES_POSITIVE if positive else DEMO_OUTCOMES_OTHER)
        self.writer.complete_demo(self.acting(client), client.aggregate, demo_id, CompleteDemo(outcome=outcome))
        self.summary.demos_completed += 1
        if positive:
            self.do_propose(client)

    def do_propose(self, client: Client) -> None:
        rng = self.rng
        low, high = CONTRACT_VALUES[client.aggregate.tier]
        value = Decimal(rng.randrange(low, high + 1, 500))
        years = rng.choice((1, 1, 2, 3))
        today = self.clock.today()
        lead = rng.randint(14, 60)
        starts_on = today + timedelta(days=lead)
        product = rng.choice(client.interested or self.products_for(client))
        audit = self.acting(client)
        command = ProposeContract(
            title=f"{product}: {years}-year agreement",
            value=value,
            starts_on=starts_on,
            ends_on=starts_on + timedelta(days=365 * years - 1),
        )
        contract_id = self.uuid()
        proposal = self.writer.propose_contract(audit, client.aggregate, command, contract_id=contract_id)
        decide_on = today + timedelta(days=rng.randint(5, lead - 1))
        heapq.heappush(self.decisions_due, (decide_on, self.next_sequence(), client.index, contract_id))
        self.summary.contracts_proposed += 1
        self.remember(client, proposal)

    def decision_comes_due(self, index: int, contract_id: UUID) -> None:
        """The client decides on a proposal: signed (sometimes after a negotiated price) or left unsigned."""
        client = self.clients[index]
        relationship = client.aggregate
        if relationship.status is RelationshipStatus.CLOSED or self.rng.random() < 0.35:
            return
        proposal = next(
            (e for e in reversed(client.correctable) if getattr(e, "contract_id", None) == contract_id), None
        )
        if proposal is not None and self.rng.random() < 0.15:
            discounted = relationship.contract(contract_id).value * Decimal(self.rng.choice(("0.90", "0.95")))
            audit = self.acting(client)
            lower = CorrectEntry(
                corrects_version=proposal.originator_version,
                reason="Price agreed in negotiation was lower than first proposed",
                changes={"value": str(discounted.quantize(CENT))},
            )
            self.writer.correct_entry(audit, relationship, lower, proposal)
            self.summary.corrections += 1
        signed = SignContract(signed_on=self.clock.today())
        self.writer.sign_contract(self.acting(client), relationship, contract_id, signed)
        self.summary.contracts_signed += 1
        if self.rng.random() < TERMINATED_SHARE:
            due = self.clock.now() + timedelta(days=self.rng.randint(30, 400))
            self.schedule(due, "terminate", client, contract_id)

    def do_entertainment(self, client: Client) -> None:
        rng = self.rng
        description, low, high = rng.choice(ENTERTAINMENT)
        guests = [name for name, _ in rng.sample(client.people, min(len(client.people), rng.randint(1, 3)))]
        audit = self.acting(client)
        command = ProvideEntertainment(
            occurred_on=self.clock.today(),
            description=f"{description} in {client.city}",
            cost=Decimal(rng.randint(low, high)),
            attendees=[self.manager_of(client).aggregate.name, *guests],
            representative_attended=True,
        )
        self.remember(client, self.writer.provide_entertainment(audit, client.aggregate, command))

    def do_correct(self, client: Client) -> None:
        """Fixes a recent mistake with a correcting event that points at the original."""
        rng = self.rng
        kinds = (ContactLogged, ProductIntroduced, EntertainmentProvided)
        candidates = [e for e in client.correctable if isinstance(e, kinds)]
        if not candidates:
            self.do_contact(client)
            return
        original = rng.choice(candidates)
        reason: str
        changes: dict[str, object]
        history: list[LedgerEvent] = []
        if isinstance(original, ContactLogged):
            assert client.latest_contact is not None
            # The latest contact is never moved earlier, so it stays the latest unless the corrected
            # contact overtakes it: those two are all the history the new latest depends on.
            latest = client.latest_contact
            history = [latest] if latest is original else [latest, original]
            if rng.random() < 0.5 or latest is original or original.occurred_at.date() <= HISTORY_STARTS:
                channel = rng.choice([c for c in CHANNEL_WEIGHTS if c is not original.channel])
                reason, changes = "Logged under the wrong channel", {"channel": channel}
            else:
                earlier = original.occurred_at - timedelta(days=1)
                reason, changes = "Logged with the wrong date; it happened the day before", {"occurred_at": earlier}
        elif isinstance(original, ProductIntroduced):
            outcome = rng.choice([o for o in IntroductionOutcome if o is not original.outcome])
            reason, changes = "Outcome recorded before the client's answer came in", {"outcome": outcome}
        else:
            assert isinstance(original, EntertainmentProvided)
            cost = (original.cost * Decimal("1.18")).quantize(CENT)
            reason, changes = "The receipt showed the tip was left out", {"cost": str(cost)}
        audit = self.acting(client)
        command = CorrectEntry(corrects_version=original.originator_version, reason=reason, changes=changes)
        self.writer.correct_entry(audit, client.aggregate, command, original, history)
        client.correctable.remove(original)
        self.summary.corrections += 1
