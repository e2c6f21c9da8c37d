// Workload: one row per account manager, and one manager's demos, overdue relationships, relationships and pay.

import { all, get } from "./api.js";
import { badge, bar, card, daysSince, empty, h, link, meter, money, percent, sortableTable, stackedBar, table, tierBadge, time, yearSelect } from "./ui.js";
import { loadMeter } from "./capacity_form.js";
import { openingFor } from "./relationship_create.js";
import { planSection, teamSection } from "./team.js";

const TIERS = ["key", "major", "standard"];

function attainmentTone(attainment) {
  if (attainment === null) return "";
  const share = Number(attainment);
  return share >= 1 ? "good" : share >= 0.5 ? "warn" : "bad";
}

function attainmentMeter(row, scale) {
  if (row.attainment === null) return h("span", { class: "hint" }, "no quota set");
  const share = Number(row.attainment);
  return meter(
    bar(share, scale, { tone: attainmentTone(row.attainment), ticks: [1], label: `Quota attainment ${percent(row.attainment)}` }),
    percent(row.attainment),
    `${money(row.signed_value, { whole: true })} of ${money(row.quota, { whole: true })}`,
  );
}

function tierLegend() {
  return h("span", { class: "legend" }, TIERS.map((tier) => h("span", {}, h("span", { class: `swatch ${tier}` }), tier)));
}

function tierMeter(row, scale) {
  const parts = TIERS.map((tier) => ({ value: row.by_tier[tier] || 0, tone: tier, label: `${row.by_tier[tier] || 0} ${tier}` }));
  return meter(
    stackedBar(parts, scale, `Relationships by tier: ${parts.map((p) => p.label).join(", ")}`),
    String(row.active_relationships),
    TIERS.map((tier) => row.by_tier[tier] || 0).join(" / "),
  );
}

export async function workloadPage({ me }) {
  const rows = await get("/workload");
  const year = new Date().getUTCFullYear();
  const maxRelationships = Math.max(1, ...rows.map((r) => r.active_relationships));
  const attainmentScale = Math.max(1.25, ...rows.map((r) => Number(r.attainment || 0)));
  const sum = (key) => rows.reduce((total, r) => total + r[key], 0);
  const columns = [
    { key: "name", label: "Account manager", value: (r) => r.name, cell: (r) => link(`#/managers/${r.account_manager_id}`, r.name) },
    // Against each manager's own capacity, so the fullest sort first (not the one carrying the most).
    { key: "weighted_load", label: "Weighted load", value: (r) => r.weighted_load / r.capacity, cell: loadMeter },
    { key: "relationships", label: "By tier", value: (r) => r.active_relationships, cell: (r) => tierMeter(r, maxRelationships) },
    {
      key: "overdue",
      label: "Overdue",
      numeric: true,
      value: (r) => r.overdue_follow_ups,
      cell: (r) => h("span", { class: r.overdue_follow_ups ? "count-bad" : "" }, String(r.overdue_follow_ups)),
    },
    { key: "demos", label: "Demos", numeric: true, value: (r) => r.upcoming_demos, cell: (r) => String(r.upcoming_demos) },
    { key: "proposals", label: "Proposals", numeric: true, value: (r) => r.open_proposals, cell: (r) => String(r.open_proposals) },
    { key: "attainment", label: `Quota ${year}`, value: (r) => (r.attainment === null ? null : Number(r.attainment)), cell: (r) => attainmentMeter(r, attainmentScale) },
  ];
  if (me.role === "account_manager" && me.account_manager_id) {
    const own = sortableTable(columns, rows, { id: "workload", rowAttributes: (r) => ({ dataset: { managerId: r.account_manager_id } }) });
    return myDay(me, own);
  }
  return [
    h("h1", {}, "Workload"),
    h(
      "p",
      { class: "subtitle" },
      me.role === "account_manager"
        ? "Your own workload (an account manager sees only their own row). Click a header to sort."
        : "One row per active account manager. Weighted load counts a key relationship as 4, major as 2, standard as 1, and is drawn against each manager's own capacity (the tick). Click a header to sort.",
    ),
    h("p", { class: "hint" }, "Open relationships by tier (key / major / standard):", tierLegend(), " · Demos: in the next 14 days · Overdue: no contact within the cadence · Quota: tick at 100 %"),
    h(
      "div",
      { class: "cards" },
      card("Account managers", String(rows.length)),
      card("Open relationships", String(sum("active_relationships"))),
      card("Overdue follow-ups", String(sum("overdue_follow_ups")), sum("overdue_follow_ups") ? "bad" : ""),
      card("Demos in 14 days", String(sum("upcoming_demos"))),
    ),
    rows.length
      ? sortableTable(columns, rows, {
          id: "workload",
          sort: { key: "weighted_load", direction: "descending" },
          rowAttributes: (r) => ({ dataset: { managerId: r.account_manager_id } }),
        })
      : empty("No active account managers."),
    ...teamSection({ me, rerender: () => workloadPage({ me }), extra: openingFor(me) }),
  ];
}

const WEEK_MS = 7 * 86_400_000;

function overdueWords(days) {
  if (days === null) return "overdue";
  return days < 1 ? "less than a day overdue" : `${days} day${days === 1 ? "" : "s"} overdue`;
}

/**
 * An account manager's landing page is their day: the relationships overdue for contact, most overdue first,
 * each saying by how many days; the demos of the next seven days; the proposals waiting to be signed; and the
 * corrections they asked for that still wait for a manager's decision.
 */
async function myDay(me, ownRow) {
  const id = me.account_manager_id;
  const [workload, relationships, requests] = await Promise.all([
    get(`/account-managers/${id}/workload`),
    all("/relationships", { account_manager_id: id, status: "open" }),
    all("/correction-requests", { status: "open" }), // an account manager's are their own
  ]);
  const now = new Date();
  const overdue = workload.overdue_relationships
    .map((r) => ({ ...r, days: daysSince(r.contact_due, now) }))
    .sort((a, b) => b.days - a.days || new Date(a.contact_due) - new Date(b.contact_due) || a.client_name.localeCompare(b.client_name));
  const week = workload.demos
    .filter((d) => new Date(d.scheduled_for).getTime() - now.getTime() < WEEK_MS)
    .sort((a, b) => new Date(a.scheduled_for) - new Date(b.scheduled_for));
  const states = await Promise.all(relationships.map((r) => get(`/relationships/${r.id}`).catch(() => null)));
  const proposals = states
    .filter(Boolean)
    .flatMap((state) =>
      Object.entries(state.contracts || {})
        .filter(([, c]) => c.status === "proposed")
        .map(([contractId, c]) => ({ ...c, contract_id: contractId, relationship_id: state.id, client_name: state.client_name })),
    )
    .sort((a, b) => String(a.starts_on).localeCompare(String(b.starts_on)));
  const waiting = proposals.reduce((total, c) => total + Number(c.value), 0);
  return [
    h("h1", { id: "my-day-title" }, `Your day, ${workload.name}`),
    h("p", { class: "subtitle" }, "Today: ", time(now.toISOString()), ". Who to contact first, the demos of the week, and the proposals waiting to be signed."),
    h(
      "div",
      { class: "cards" },
      card("Overdue for contact", String(overdue.length), overdue.length ? "bad" : ""),
      card("Demos this week", String(week.length)),
      card("Proposals waiting", `${proposals.length}`),
      card("Waiting to be signed", money(waiting, { whole: true })),
      card(`Attainment ${now.getFullYear()}`, percent(workload.attainment)),
    ),
    h("h2", { id: "my-overdue-title" }, `Overdue for contact (${overdue.length})`),
    overdue.length
      ? table(
          [
            { label: "Client", cell: (r) => link(`#/relationships/${r.relationship_id}`, r.client_name) },
            { label: "Overdue by", cell: (r) => h("span", { class: "count-bad days-overdue", dataset: { days: r.days } }, overdueWords(r.days)) },
            { label: "Tier", cell: (r) => tierBadge(r.tier) },
            { label: "Contact was due", cell: (r) => time(r.contact_due) },
            { label: "Last contact", cell: (r) => time(r.last_contact_at) },
          ],
          overdue,
          { id: "my-overdue", rowAttributes: (r) => ({ dataset: { relationshipId: r.relationship_id, days: r.days } }) },
        )
      : empty("Nothing overdue: every relationship has been contacted within its cadence."),
    h("h2", {}, `Demos this week (${week.length})`),
    week.length
      ? table(
          [
            { label: "When", cell: (d) => time(d.scheduled_for) },
            { label: "Client", cell: (d) => link(`#/relationships/${d.relationship_id}`, d.client_name) },
            { label: "Product", cell: (d) => d.product },
            { label: "Where", cell: (d) => d.location },
            { label: "Staff sent", cell: (d) => staffChips(d.staff) },
          ],
          week,
          { id: "my-demos", rowAttributes: (d) => ({ dataset: { demoId: d.demo_id } }) },
        )
      : empty("No demos in the next seven days."),
    h("h2", {}, `Proposals waiting (${proposals.length})`),
    proposals.length
      ? table(
          [
            { label: "Client", cell: (c) => link(`#/relationships/${c.relationship_id}`, c.client_name) },
            { label: "Contract", cell: (c) => c.title },
            { label: "Value", numeric: true, cell: (c) => money(c.value) },
            { label: "Term", cell: (c) => [time(c.starts_on), " to ", time(c.ends_on)] },
          ],
          proposals,
          { id: "my-proposals", rowAttributes: (c) => ({ dataset: { contractId: c.contract_id } }) },
        )
      : empty("No proposals waiting to be signed."),
    h("h2", {}, `Your corrections awaiting a decision (${requests.length})`),
    requests.length
      ? table(
          [
            { label: "Asked", cell: (r) => time(r.requested_at) },
            { label: "Client", cell: (r) => link(`#/relationships/${r.relationship_id}`, r.client_name || "a relationship") },
            { label: "Corrects", cell: (r) => `${r.corrected_type.split(".").pop()} (version ${r.corrects_version})` },
            { label: "Changes", cell: (r) => Object.entries(r.changes).map(([field, value]) => `${field.replaceAll("_", " ")} → ${value}`).join("; ") },
            { label: "Why", cell: (r) => r.reason },
          ],
          requests,
          { id: "my-requests", rowAttributes: (r) => ({ dataset: { requestId: r.request_id } }) },
        )
      : empty("No corrections waiting: a manager has decided every one you asked for."),
    h("h2", {}, "Your numbers"),
    ownRow,
  ];
}

function staffChips(staff) {
  return h("div", { class: "staff" }, staff.map((person) => h("span", { class: "chip" }, person.name, " ", h("small", {}, person.role))));
}

function payPanel(pay) {
  const parts = [
    { value: Number(pay.base_salary), tone: "standard", label: `Base salary ${money(pay.base_salary)}` },
    { value: Number(pay.commission), tone: "major", label: `Commission ${money(pay.commission)}` },
    { value: Number(pay.bonus), tone: "key", label: `Bonus ${money(pay.bonus)}` },
  ];
  return h(
    "div",
    { class: "panel", id: "pay" },
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Signed value"),
      h("dd", {}, money(pay.signed_value)),
      h("dt", {}, "Quota"),
      h("dd", {}, money(pay.quota)),
      h("dt", {}, "Attainment"),
      h("dd", {}, percent(pay.attainment)),
      h("dt", {}, "Base salary"),
      h("dd", {}, money(pay.base_salary)),
      h("dt", {}, "Commission"),
      h("dd", {}, money(pay.commission)),
      h("dt", {}, "Bonus"),
      h("dd", {}, money(pay.bonus)),
      h("dt", {}, h("strong", {}, "Total")),
      h("dd", { id: "pay-total" }, h("strong", {}, money(pay.total))),
    ),
    h("p", { class: "hint" }, "Make-up of the total ", h("span", { class: "legend" }, h("span", {}, h("span", { class: "swatch standard" }), "base"), h("span", {}, h("span", { class: "swatch major" }), "commission"), h("span", {}, h("span", { class: "swatch key" }), "bonus"))),
    meter(stackedBar(parts, Number(pay.total) || 1, `Pay ${money(pay.total)}`), money(pay.total, { whole: true })),
  );
}

/** "21 of 20 (over capacity)", "16 of 20": a manager's weighted load against their capacity, in words. */
function loadAgainstCapacity(row) {
  return `${row.weighted_load} of ${row.capacity}${row.overloaded ? " (over capacity)" : ""}`;
}

export async function managerPage({ me, params, query }) {
  const [id] = params;
  const year = Number(query.get("year")) || new Date().getUTCFullYear();
  const [workload, pay, relationships] = await Promise.all([
    get(`/account-managers/${id}/workload`, { params: { year } }),
    get(`/account-managers/${id}/pay/${year}`),
    all("/relationships", { account_manager_id: id }),
  ]);
  // The selector always holds the year shown, so `?year=2019` and the selector agree.
  const yearPicker = yearSelect({ id: "pay-year", year, onchange: (event) => (window.location.hash = `#/managers/${id}?year=${event.target.value}`) });
  return [
    h("div", { class: "crumbs" }, link("#/workload", "Workload"), " / account manager"),
    h("h1", { id: "manager-name" }, workload.name),
    h("p", { class: "subtitle" }, `${workload.active_relationships} open relationships · weighted load ${loadAgainstCapacity(workload)}`),
    h(
      "div",
      { class: "cards" },
      card("Weighted load", h("span", { id: "manager-load" }, loadAgainstCapacity(workload)), workload.overloaded ? "bad" : ""),
      card("Open relationships", `${workload.active_relationships}`),
      card("Overdue follow-ups", String(workload.overdue_follow_ups), workload.overdue_follow_ups ? "bad" : ""),
      card("Demos in 14 days", String(workload.upcoming_demos)),
      card(`Attainment ${year}`, percent(workload.attainment)),
    ),
    h("h2", {}, "Demos in the next 14 days"),
    workload.demos.length
      ? table(
          [
            { label: "When", cell: (d) => time(d.scheduled_for) },
            { label: "Client", cell: (d) => link(`#/relationships/${d.relationship_id}`, d.client_name) },
            { label: "Product", cell: (d) => d.product },
            { label: "Where", cell: (d) => d.location },
            { label: "Staff sent", cell: (d) => staffChips(d.staff) },
          ],
          workload.demos,
          { id: "demos" },
        )
      : empty("No demos in the next 14 days."),
    h("h2", {}, "Overdue relationships"),
    workload.overdue_relationships.length
      ? table(
          [
            { label: "Client", cell: (r) => link(`#/relationships/${r.relationship_id}`, r.client_name) },
            { label: "Tier", cell: (r) => tierBadge(r.tier) },
            { label: "Last contact", cell: (r) => time(r.last_contact_at) },
            { label: "Contact was due", cell: (r) => time(r.contact_due) },
          ],
          workload.overdue_relationships,
          { id: "overdue" },
        )
      : empty("Nothing overdue."),
    h("div", { class: "grid2" },
      h("section", {}, h("h2", {}, "Pay for ", yearPicker), payPanel(pay)),
      h(
        "section",
        {},
        h("h2", {}, `Relationships (${relationships.length})`),
        relationships.length
          ? table(
              [
                { label: "Client", cell: (r) => link(`#/relationships/${r.id}`, r.client_name) },
                { label: "Tier", cell: (r) => tierBadge(r.tier) },
                { label: "Status", cell: (r) => badge(r.status) },
                { label: "Last contact", cell: (r) => time(r.last_contact_at) },
              ],
              relationships,
              { id: "manager-relationships" },
            )
          : empty("No relationships."),
      ),
    ),
    ...planSection({ me, id, year, payPanel }),
    h("p", { class: "hint" }, "As of ", time(new Date().toISOString()), "."),
  ];
}
