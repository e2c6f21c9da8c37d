// Relationships: the list (an account manager sees only their own), and one relationship's state, its whole
// timeline, and an as-of control (a version slider, or a date and time) showing the state as recorded then.

import { ApiError, all, get } from "./api.js";
import { badge, business, empty, h, link, money, problem, table, tierBadge, time, utc } from "./ui.js";

async function managerNames() {
  try {
    const managers = await all("/account-managers");
    return new Map(managers.map((m) => [m.id, m.name]));
  } catch {
    return new Map(); // names are a nicety: the ids still link
  }
}

export async function relationshipsPage({ me, query }) {
  const tier = query.get("tier") || "";
  const status = query.get("status") || "";
  const [items, names] = await Promise.all([all("/relationships", { tier, status }), managerNames()]);
  const pick = (name, value, options) =>
    h(
      "select",
      {
        id: `filter-${name}`,
        "aria-label": name,
        onchange: (event) => {
          const next = new URLSearchParams({ tier, status, [name]: event.target.value });
          for (const [key, v] of [...next]) if (!v) next.delete(key);
          window.location.hash = `#/relationships${next.toString() ? `?${next}` : ""}`;
        },
      },
      h("option", { value: "" }, `any ${name}`),
      options.map((option) => h("option", { value: option, selected: option === value }, option)),
    );
  return [
    h("h1", {}, "Relationships"),
    h(
      "p",
      { class: "subtitle" },
      me.role === "account_manager" ? "The relationships currently assigned to you." : "Every relationship, in the order they were opened.",
    ),
    h("div", { class: "controls" }, h("label", {}, "Show"), pick("tier", tier, ["key", "major", "standard"]), pick("status", status, ["open", "closed"]), h("span", { class: "hint", id: "relationship-count" }, `${items.length} relationships`)),
    items.length
      ? table(
          [
            { label: "Client", cell: (r) => link(`#/relationships/${r.id}`, r.client_name) },
            { label: "Industry", cell: (r) => r.industry.replace("_", " ") },
            { label: "Tier", cell: (r) => tierBadge(r.tier) },
            { label: "Status", cell: (r) => badge(r.status) },
            { label: "Account manager", cell: (r) => link(`#/managers/${r.account_manager_id}`, names.get(r.account_manager_id) || r.account_manager_id.slice(0, 8)) },
            { label: "Last contact", cell: (r) => (r.last_contact_at ? business(r.last_contact_at) : "—") },
          ],
          items,
          { id: "relationships", rowAttributes: (r) => ({ dataset: { relationshipId: r.id, managerId: r.account_manager_id } }) },
        )
      : empty("No relationships match."),
  ];
}

/** One line saying what an event recorded. */
function summary(event) {
  const d = event.data || {};
  switch (event.type) {
    case "Opened":
      return `${d.client_name}: ${d.client_kind}, ${String(d.industry).replace("_", " ")}, ${d.tier}`;
    case "TierChanged":
      return `Tier changed to ${d.tier}`;
    case "ContactCadenceChanged":
      return `Contact every ${d.days} days`;
    case "AccountManagerAssigned":
      return `Reassigned: ${d.reason}`;
    case "ContactLogged":
      return `${d.channel}: ${d.summary}${d.next_follow_up_on ? ` (follow up by ${d.next_follow_up_on})` : ""}`;
    case "ProductIntroduced":
      return `${d.product}: ${d.outcome}`;
    case "DemoScheduled":
      return `${d.product} at ${d.location} with ${(d.staff || []).map((p) => (typeof p === "string" ? p : p.name)).join(", ")}`;
    case "DemoRescheduled":
      return `Demo moved to ${business(d.scheduled_for)}`;
    case "DemoCompleted":
      return `Demo done: ${d.outcome}`;
    case "DemoCancelled":
      return `Demo cancelled: ${d.reason}`;
    case "ContractProposed":
      return `${d.title}, ${money(d.value)}`;
    case "ContractSigned":
      return `Signed, ${money(d.value)}`;
    case "ContractTerminated":
      return `Terminated: ${d.reason}`;
    case "GiftGiven":
      return `${d.description} to ${(d.recipient && d.recipient.name) || "someone"}, counted ${money(d.counted_value)}`;
    case "EntertainmentProvided":
      return `${d.description}, ${money(d.cost)}`;
    case "EntryCorrected":
      return `Corrects version ${d.corrects_version}: ${d.reason}`;
    case "Closed":
    case "Reopened":
      return d.reason;
    default:
      return JSON.stringify(d).slice(0, 140);
  }
}

const FIELDS = [
  ["Client", (s) => s.client_name, "client_name"],
  ["Kind", (s) => s.client_kind, "client_kind"],
  ["Industry", (s) => s.industry.replace("_", " "), "industry"],
  ["Tier", (s) => tierBadge(s.tier), "tier"],
  ["Status", (s) => badge(s.status), "status"],
  ["Account manager", null, "account_manager_id"],
  ["Contact cadence", (s) => `every ${s.cadence_days} days`, "cadence_days"],
  ["Last contact", (s) => (s.last_contact_at ? business(s.last_contact_at) : "—"), "last_contact_at"],
  ["Next follow-up", (s) => s.next_follow_up_on || "—", "next_follow_up_on"],
  ["Opened (recorded)", (s) => utc(s.opened_at), "opened_at"],
  ["Products pitched", (s) => String(Object.keys(s.products).length), "products"],
  ["Demos", (s) => String(Object.keys(s.demos).length), "demos"],
  ["Contracts", (s) => String(Object.keys(s.contracts).length), "contracts"],
  ["Gifts given", (s) => String(s.gifts_given), "gifts_given"],
];

function stateFacts(state, now, names) {
  const changed = (key) => JSON.stringify(state[key]) !== JSON.stringify(now[key]);
  return h(
    "dl",
    { class: "facts", id: "state" },
    FIELDS.map(([label, show, key]) => [
      h("dt", {}, label),
      h(
        "dd",
        { id: `state-${key.replaceAll("_", "-")}`, class: state !== now && changed(key) ? "changed" : "", title: state !== now && changed(key) ? "differs from now" : undefined },
        show ? show(state) : link(`#/managers/${state.account_manager_id}`, names.get(state.account_manager_id) || state.account_manager_id),
      ),
    ]),
  );
}

function stateTables(state) {
  const demos = Object.entries(state.demos).map(([id, d]) => ({ id, ...d }));
  const contracts = Object.entries(state.contracts).map(([id, c]) => ({ id, ...c }));
  return [
    h("h2", {}, "Demos"),
    demos.length
      ? table(
          [
            { label: "When", cell: (d) => business(d.scheduled_for) },
            { label: "Product", cell: (d) => d.product },
            { label: "Where", cell: (d) => d.location },
            { label: "Staff", cell: (d) => (d.staff || []).map((p) => `${p.name} (${p.role})`).join(", ") },
            { label: "Status", cell: (d) => badge(d.status, d.status === "completed" ? "good" : d.status === "cancelled" ? "closed" : "open") },
          ],
          demos,
        )
      : empty("No demos."),
    h("h2", {}, "Contracts"),
    contracts.length
      ? table(
          [
            { label: "Title", cell: (c) => c.title },
            { label: "Value", numeric: true, cell: (c) => money(c.value) },
            { label: "Term", cell: (c) => `${c.starts_on} to ${c.ends_on}` },
            { label: "Status", cell: (c) => badge(c.status, c.status === "signed" ? "good" : c.status === "terminated" ? "closed" : "warn") },
            { label: "Signed on", cell: (c) => c.signed_on || "—" },
          ],
          contracts,
        )
      : empty("No contracts."),
  ];
}

export async function relationshipPage({ params }) {
  const [id] = params;
  const [now, events, names] = await Promise.all([get(`/relationships/${id}`), all(`/relationships/${id}/events`), managerNames()]);
  const recordedAt = new Map(events.map((e) => [e.version, e.recorded_at]));
  const statePlace = h("div", { class: "panel" }, stateFacts(now, now, names));
  const tablesPlace = h("div", {}, stateTables(now));
  const banner = h("div", { id: "asof-banner", "aria-live": "polite" });
  const label = h("output", { id: "asof-label", for: "asof-version" });
  const slider = h("input", { id: "asof-version", type: "range", min: 1, max: now.version, step: 1, value: now.version, "aria-label": "Version" });
  const when = h("input", { id: "asof-time", type: "datetime-local", step: 1, "aria-label": "As recorded at (your local time)" });
  let asking = 0;

  const rows = events.map((event) =>
    h(
      "tr",
      { dataset: { version: event.version } },
      h("td", { class: "num" }, String(event.version)),
      h("td", {}, h("strong", {}, event.type), h("div", { class: "hint" }, summary(event))),
      h("td", {}, event.occurred_at ? time(event.occurred_at, business(event.occurred_at)) : "—"),
      h("td", {}, time(event.recorded_at)),
      h("td", {}, h("span", { class: "clip", title: event.actor_id }, event.actor_id), h("div", { class: "hint" }, event.actor_role.replace("_", " "))),
      h("td", {}, h("span", { class: "mono clip", title: event.correlation_id }, event.correlation_id)),
    ),
  );

  const timelineHead = h("thead", {}, h("tr", {}, ["Version", "Event", "Business time", "Recorded", "Actor", "Correlation id"].map((t) => h("th", { scope: "col" }, t))));

  function labelFor(version) {
    label.textContent = `Version ${version} of ${now.version} · recorded ${utc(recordedAt.get(version))}`;
  }

  function show(state, problemShown) {
    const version = state ? state.version : 0;
    for (const row of rows) {
      const v = Number(row.dataset.version);
      row.classList.toggle("later", v > version);
      row.classList.toggle("current-version", v === version && version !== now.version);
    }
    if (problemShown) {
      banner.replaceChildren(problemShown);
      return;
    }
    slider.value = String(version);
    labelFor(version);
    statePlace.replaceChildren(stateFacts(state, now, names));
    tablesPlace.replaceChildren(...stateTables(state));
    banner.replaceChildren(
      version === now.version
        ? h("p", { class: "hint" }, "Showing the current state.")
        : h(
            "div",
            { class: "banner", id: "asof-note" },
            `Showing the state as recorded at version ${version} (${utc(state.recorded_at)}); it is now at version ${now.version}. Highlighted facts have changed since.`,
            h("button", { type: "button", onclick: () => show(now) }, "Back to now"),
          ),
    );
  }

  async function ask(params, what) {
    const ticket = ++asking;
    try {
      const state = await get(`/relationships/${id}`, { params });
      if (ticket === asking) show(state);
    } catch (error) {
      if (ticket !== asking) return;
      if (error instanceof ApiError && error.status === 404 && params.as_of) {
        show(null, problem({ title: "It did not exist yet", detail: `The relationship was not yet recorded at ${what}.`, status: 404, code: error.code }));
      } else {
        show(null, problem(error, `Could not read the state at ${what}`));
      }
    }
  }

  slider.addEventListener("input", () => labelFor(Number(slider.value)));
  slider.addEventListener("change", () => {
    const version = Number(slider.value);
    if (version === now.version) show(now);
    else ask({ version }, `version ${version}`);
  });
  const askAt = () => {
    if (!when.value) return;
    const at = new Date(when.value);
    ask({ as_of: at.toISOString() }, utc(at.toISOString()));
  };
  labelFor(now.version);
  show(now);

  return [
    h("div", { class: "crumbs" }, link("#/relationships", "Relationships"), " / ", link(`#/managers/${now.account_manager_id}`, names.get(now.account_manager_id) || "account manager")),
    h("h1", { id: "client-name" }, now.client_name),
    h("p", { class: "subtitle" }, `${events.length} events · version ${now.version} · last recorded ${utc(now.recorded_at)}`),
    h(
      "section",
      { class: "panel asof", "aria-label": "As of" },
      h("div", { class: "row" }, h("label", { for: "asof-version" }, "As recorded at version"), slider, label),
      h(
        "div",
        { class: "row" },
        h("label", { for: "asof-time" }, "or at a date and time (your local time)"),
        when,
        h("button", { type: "button", id: "asof-time-go", onclick: askAt }, "Show"),
        h("button", { type: "button", id: "asof-now", onclick: () => show(now) }, "Now"),
      ),
    ),
    banner,
    h("h2", {}, "State"),
    statePlace,
    tablesPlace,
    h("h2", {}, "Timeline"),
    h("div", { class: "table-wrap" }, h("table", { id: "timeline" }, timelineHead, h("tbody", {}, rows))),
  ];
}
