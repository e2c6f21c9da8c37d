// Audit: the result of verifying the whole log (events checked, the last seal, the first bad position),
// exports of every event up to a moment, and the whole global feed, newest first, a page at a time, filtered by
// actor, event type and relationship (GET /v1/audit/events with `before`/`after` and its filters).

import { ApiError, all, get, request } from "./api.js";
import { actorDirectory, describe, describeOther } from "./story.js";
import { h, link, problem, table, time } from "./ui.js";

const NEWEST = 9_007_199_254_740_991; // `before` this: the newest page
const SIZES = [20, 50, 100];
const EVENT_TYPES = [
  ["Relationships", ["Opened", "AccountManagerAssigned", "TierChanged", "ContactCadenceChanged", "ContactLogged", "ProductIntroduced", "DemoScheduled", "DemoRescheduled", "DemoCompleted", "DemoCancelled", "ContractProposed", "ContractSigned", "ContractTerminated", "GiftGiven", "EntertainmentProvided", "EntryCorrected", "CorrectionRequested", "CorrectionApproved", "CorrectionRejected", "Closed", "Reopened"]],
  ["Account managers and recipients", ["Registered", "QuotaSet", "CompensationPlanSet", "CapacitySet", "Deactivated", "GiftReceived", "RecipientsMerged", "MergedInto"]],
  ["Gift policy", ["Established", "GiftLimitScheduled", "LimitYearPolicyChanged", "ReviewThresholdSet"]],
];

async function download(format, asOf, status) {
  status.replaceChildren(h("span", { class: "hint" }, "Preparing the export…"));
  try {
    const params = { format, as_of: asOf ? new Date(asOf).toISOString() : undefined };
    const response = await request("/audit/export", { params, accept: format === "csv" ? "text/csv" : "application/x-ndjson" });
    const blob = await response.blob();
    const name = `ledger-events-${(asOf ? new Date(asOf) : new Date()).toISOString().replaceAll(":", "-").slice(0, 19)}.${format === "csv" ? "csv" : "jsonl"}`;
    const address = URL.createObjectURL(blob);
    const anchor = h("a", { href: address, download: name, id: `export-${format}-file` }, `Save ${name} (${blob.size.toLocaleString()} bytes)`);
    status.replaceChildren(anchor);
    anchor.click();
  } catch (error) {
    status.replaceChildren(problem(error, "Could not export"));
  }
}

/** The feed: a page of events newest first, with filters, and Newest / Newer / Older / Oldest. */
function feed({ actors, relationships, actorList, total }) {
  const state = { size: 20, filters: {}, items: [], hasOlder: false, hasNewer: false };
  const place = h("div", { id: "feed-page", "aria-live": "polite" });
  const where = h("span", { class: "hint", id: "feed-where" });
  const button = (id, text, onclick) => h("button", { type: "button", id, onclick }, text);
  const buttons = {
    newest: button("feed-newest", "Newest", () => load({ before: NEWEST })),
    newer: button("feed-newer", "← Newer", () => load({ after: state.items[0].position }, "newer")),
    older: button("feed-older", "Older →", () => load({ before: state.items[state.items.length - 1].position })),
    oldest: button("feed-oldest", "Oldest", () => load({ after: 0 }, "oldest")),
  };
  const nav = h("nav", { class: "pager", "aria-label": "Pages of the feed" }, buttons.newest, buttons.newer, where, buttons.older, buttons.oldest);
  let ticket = 0;

  async function load(at, direction) {
    const mine = ++ticket;
    place.setAttribute("aria-busy", "true");
    try {
      const answer = await get("/audit/events", { params: { ...state.filters, ...at, limit: state.size + 1 } });
      if (mine !== ticket) return;
      let found = answer.items; // oldest first
      if (at.before !== undefined) {
        state.hasOlder = found.length > state.size;
        found = found.slice(-state.size);
        state.hasNewer = at.before !== NEWEST;
      } else {
        state.hasNewer = found.length > state.size;
        found = found.slice(0, state.size);
        state.hasOlder = direction === "newer" && found.length > 0;
        if (direction === "oldest") state.hasOlder = false;
      }
      state.items = [...found].reverse(); // newest first
      draw();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (mine === ticket) place.replaceChildren(problem(error, "Could not read the feed"));
    } finally {
      if (mine === ticket) place.removeAttribute("aria-busy");
    }
  }

  function draw() {
    const items = state.items;
    buttons.newer.disabled = !state.hasNewer;
    buttons.newest.disabled = !state.hasNewer;
    buttons.older.disabled = !state.hasOlder;
    buttons.oldest.disabled = !state.hasOlder;
    const filtered = Object.keys(state.filters).length > 0;
    where.textContent = items.length
      ? `Positions ${items[items.length - 1].position.toLocaleString("en-US")}–${items[0].position.toLocaleString("en-US")}${filtered ? " (filtered)" : ` of ${total.toLocaleString("en-US")}`}`
      : "No events match.";
    place.replaceChildren(
      items.length
        ? table(
            [
              { label: "Position", numeric: true, cell: (e) => String(e.position) },
              { label: "Recorded", cell: (e) => time(e.recorded_at) },
              {
                label: "What happened",
                cell: (e) =>
                  h(
                    "div",
                    {},
                    h("div", { class: "said" }, e.aggregate_type === "ClientRelationship" ? describe(e, null, (id) => actors.names.get(id)) : describeOther(e)),
                    h("div", { class: "hint" }, `${e.type} · version ${e.version}`),
                  ),
              },
              {
                label: "Of",
                cell: (e) =>
                  e.aggregate_type === "ClientRelationship"
                    ? link(`#/relationships/${e.aggregate_id}`, relationships.get(e.aggregate_id) || "a relationship")
                    : h("span", {}, aggregateWords(e, actors)),
              },
              { label: "Who", cell: (e) => actors.cell(e) },
              { label: "Correlation id", cell: (e) => h("span", { class: "mono clip", title: e.correlation_id }, e.correlation_id) },
            ],
            items,
            { id: "feed", rowAttributes: (e) => ({ dataset: { position: e.position, type: e.type, actorId: e.actor_id, aggregateId: e.aggregate_id } }) },
          )
        : h("p", { class: "empty", id: "feed-empty" }, "No events match these filters."),
    );
  }

  // Filters: chosen by name (actors and relationships), never typed as ids.
  const actorSelect = h(
    "select",
    { id: "feed-actor" },
    h("option", { value: "" }, "anyone"),
    actorList
      .map((a) => ({ ...a, label: actors.label(a.actor_id, a.actor_role) }))
      .sort((x, y) => x.label.localeCompare(y.label))
      .map((a) => h("option", { value: a.actor_id }, `${a.label} (${a.events.toLocaleString("en-US")})`)),
  );
  const typeSelect = h(
    "select",
    { id: "feed-type" },
    h("option", { value: "" }, "any event"),
    EVENT_TYPES.map(([group, types]) => h("optgroup", { label: group }, types.map((t) => h("option", { value: t }, t)))),
  );
  const byName = new Map();
  for (const [id, name] of relationships) {
    const label = byName.has(name) ? `${name} (${id.slice(0, 8)})` : name;
    byName.set(label, id);
  }
  const relationshipInput = h("input", { id: "feed-relationship", list: "feed-relationship-names", autocomplete: "off", placeholder: "any relationship" });
  const relationshipProblem = h("span", { class: "field-problem", id: "feed-relationship-problem", "aria-live": "polite" });
  relationshipInput.setAttribute("aria-describedby", "feed-relationship-problem");
  const sizeSelect = h("select", { id: "feed-size" }, SIZES.map((n) => h("option", { value: n, selected: n === state.size }, String(n))));
  const form = h(
    "form",
    {
      id: "feed-filters",
      class: "controls",
      role: "search",
      "aria-label": "Filter the feed",
      onsubmit: (event) => {
        event.preventDefault();
        relationshipProblem.replaceChildren();
        relationshipInput.removeAttribute("aria-invalid");
        const filters = {};
        if (actorSelect.value) filters.actor_id = actorSelect.value;
        if (typeSelect.value) filters.type = typeSelect.value;
        const named = relationshipInput.value.trim();
        if (named) {
          const id = byName.get(named) || [...byName].find(([label]) => label.toLowerCase() === named.toLowerCase())?.[1];
          if (!id) {
            relationshipProblem.textContent = "No relationship of that name: choose one from the list.";
            relationshipInput.setAttribute("aria-invalid", "true");
            relationshipInput.focus();
            return;
          }
          filters.aggregate_id = id;
        }
        state.filters = filters;
        state.size = Number(sizeSelect.value);
        load({ before: NEWEST });
      },
    },
    h("span", { class: "filter" }, h("label", { for: "feed-actor" }, "Who"), actorSelect),
    h("span", { class: "filter" }, h("label", { for: "feed-type" }, "Event"), typeSelect),
    h(
      "span",
      { class: "filter" },
      h("label", { for: "feed-relationship" }, "Relationship"),
      relationshipInput,
      h("datalist", { id: "feed-relationship-names" }, [...byName.keys()].sort().map((label) => h("option", { value: label }))),
      relationshipProblem,
    ),
    h("span", { class: "filter" }, h("label", { for: "feed-size" }, "Per page"), sizeSelect),
    h("button", { type: "submit", class: "primary", id: "feed-apply" }, "Show"),
  );
  return { element: h("section", { id: "feed-section" }, form, nav, place), load };
}

function aggregateWords(event, actors) {
  if (event.aggregate_type === "AccountManager") return actors.names.get(event.aggregate_id) || "an account manager";
  if (event.aggregate_type === "CompliancePolicy") return "the gift policy";
  if (event.aggregate_type === "GiftRecipient") return "a gift recipient";
  if (event.aggregate_type === "RecipientIndex") return "the recipient index";
  return event.aggregate_type;
}

export async function auditPage({ me }) {
  const [verification, actors, relationshipList, actorList] = await Promise.all([
    get("/audit/verify"),
    actorDirectory(me),
    all("/relationships").catch(() => []),
    all("/audit/actors").catch(() => []),
  ]);
  const relationships = new Map(relationshipList.map((r) => [r.id, r.client_name]));
  const events = feed({ actors, relationships, actorList, total: verification.events_checked });
  await events.load({ before: NEWEST });
  const seal = verification.last_seal;
  const asOf = h("input", { id: "export-as-of", type: "datetime-local", step: 1, "aria-label": "Export events recorded up to (your local time)" });
  const status = h("div", { id: "export-status", "aria-live": "polite" });
  const exportButton = (format, text) =>
    h("button", { type: "button", id: `export-${format}`, onclick: () => download(format, asOf.value, status) }, text);
  return [
    h("h1", {}, "Audit"),
    h("p", { class: "subtitle" }, "Every hash chain and seal recomputed from the stored events, just now (GET /v1/audit/verify)."),
    h(
      "section",
      { class: "panel", id: "verification", dataset: { ok: String(verification.ok) } },
      h(
        "div",
        { class: "verdict" },
        h("div", { class: `mark ${verification.ok ? "good" : "bad"}`, "aria-hidden": "true" }, verification.ok ? "✓" : "✗"),
        h("div", {}, h("h2", {}, verification.ok ? "The log is intact" : "The log is NOT intact"), h("p", { class: "hint" }, "Verified ", time(new Date().toISOString()))),
      ),
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "Events checked"),
        h("dd", { id: "events-checked" }, verification.events_checked.toLocaleString("en-US")),
        h("dt", {}, "Seals checked"),
        h("dd", { id: "seals-checked" }, String(verification.seals_checked)),
        h("dt", {}, "Last seal"),
        h(
          "dd",
          { id: "last-seal" },
          seal
            ? [`position ${seal.position.toLocaleString("en-US")} (${seal.size.toLocaleString("en-US")} events), sealed `, time(seal.sealed_at)]
            : "none yet (a running ledger seals every LEDGER_SEAL_EVERY events; `ledger seal` seals now)",
        ),
        h("dt", {}, "First bad position"),
        h("dd", { id: "first-bad-position" }, verification.first_bad_position === null ? "none" : String(verification.first_bad_position)),
      ),
      verification.problems.length ? h("ul", { id: "verification-problems" }, verification.problems.map((p) => h("li", {}, p))) : null,
    ),
    h("h2", {}, "Export"),
    h(
      "section",
      { class: "panel" },
      h(
        "div",
        { class: "exports" },
        h("label", { for: "export-as-of" }, "Events recorded up to"),
        asOf,
        h("span", { class: "hint" }, "(your local time; empty: now)"),
        exportButton("jsonl", "Download JSON Lines"),
        exportButton("csv", "Download CSV"),
      ),
      h("p", { class: "hint" }, "Each line carries the audit fields, the hash, and the topic and state exactly as stored, so the hashes can be recomputed independently."),
      status,
    ),
    h("h2", {}, "Events"),
    h("p", { class: "hint" }, "The whole feed, newest first, a page at a time; filter by who recorded it, the kind of event and the relationship. Times are your local time, UTC on hover."),
    events.element,
  ];
}
