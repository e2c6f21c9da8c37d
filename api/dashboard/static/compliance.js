// Compliance: the gift register for a year, each recipient's counted total against the limit in force, and
// the exceptions (gifts over the limit, past 80 % of it, to one person within 7 days of each other, and
// uncounted gifts above the review threshold). A recipient's status comes from the API: one limit everywhere.
//
// Compliance officers and admins also change the gift policy here (schedule a limit, set the limit year) and merge
// two recipients found to be one person. Each form sends If-Match with the version on screen (the policy's, or the
// surviving recipient's), and each answer redraws what it changed, read again at the answer's position.

import { all, get, request } from "./api.js";
import { action, commandForm, localToday } from "./forms.js";
import { badge, bar, card, dateText, empty, h, link, meter, money, searchBox, sortableTable, table, yearSelect } from "./ui.js";

const NEAR = 0.8;
const POLICY_ROLES = ["compliance", "admin"];
const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const KINDS = [
  ["calendar", "Calendar year"],
  ["fiscal", "Fiscal year"],
  ["rolling_12_months", "Rolling 12 months"],
];

function share(entry) {
  return Number(entry.limit) > 0 ? Number(entry.counted_total) / Number(entry.limit) : 0;
}

function who(entry) {
  return `${entry.name} (${entry.employer})`;
}

/** How the limit year is drawn, in words. */
export function limitYearText(limitYear) {
  if (limitYear.kind === "fiscal") return `fiscal year from 1 ${MONTHS[(limitYear.start_month || 1) - 1]}`;
  if (limitYear.kind === "rolling_12_months") return "rolling 12 months (the 365 days up to each gift)";
  return "calendar year";
}

/** The limit change in force on `day` (YYYY-MM-DD): the latest one from that day or before. */
function inForce(schedule, day) {
  return schedule.filter((change) => change.effective_from <= day).sort((a, b) => b.effective_from.localeCompare(a.effective_from))[0];
}

function otherSpellings(entry) {
  return (entry.spellings || []).filter((s) => s.name !== entry.name || s.employer !== entry.employer);
}

function registerTable(register) {
  const columns = [
    {
      key: "name",
      label: "Recipient",
      value: (e) => e.name,
      cell: (e) => {
        const also = otherSpellings(e);
        return h(
          "div",
          {},
          h("strong", {}, e.name),
          " ",
          e.status === "ok" ? null : badge(e.status.replaceAll("_", " "), e.status),
          h("div", { class: "hint" }, e.employer),
          also.length ? h("div", { class: "hint spellings" }, `Also recorded as ${also.map(who).join("; ")}`) : null,
        );
      },
    },
    {
      key: "total",
      label: "Counted against the limit",
      value: (e) => share(e),
      first: "descending",
      cell: (e) =>
        meter(
          bar(Number(e.counted_total), Number(e.limit), {
            tone: e.status === "breach" ? "bad" : e.status === "near_limit" ? "warn" : "good",
            ticks: [Number(e.limit) * NEAR],
            label: `${e.name}: ${money(e.counted_total)} of ${money(e.limit)}`,
          }),
          `${money(e.counted_total)} of ${money(e.limit)}`,
          `${Math.round(share(e) * 100)} %`,
        ),
    },
    { key: "headroom", label: "Headroom", numeric: true, value: (e) => Number(e.headroom), first: "ascending", cell: (e) => money(e.headroom) },
    {
      key: "gifts",
      label: "Gifts",
      numeric: true,
      value: (e) => e.gifts.length,
      cell: (e) =>
        h(
          "details",
          {},
          h("summary", {}, String(e.gifts.length)),
          h("ul", { class: "gifts" }, e.gifts.map((g) => h("li", {}, `${g.given_on} ${g.description || g.category || "gift"}: ${money(g.counted_value)}`, g.relationship_id ? [" · ", link(`#/relationships/${g.relationship_id}`, "relationship")] : null))),
        ),
    },
  ];
  return sortableTable(columns, register, {
    id: "register",
    caption: "Gift register",
    sort: { key: "total", direction: "descending" },
    rowAttributes: (e) => ({
      dataset: {
        recipientId: e.recipient_id,
        near: e.status === "ok" ? "no" : "yes",
        status: e.status,
        search: [e.name, e.employer, ...otherSpellings(e).map(who)].join(" "),
      },
    }),
  });
}

function exceptionsTable(exceptions) {
  return table(
    [
      { label: "Kind", cell: (x) => badge(x.kind) },
      // Every kind has a summary and a day; only the gift kinds name one gift and a recipient's year.
      { label: "Recipient", cell: (x) => (x.name ? h("div", {}, h("strong", {}, x.name), h("div", { class: "hint" }, x.employer)) : "—") },
      { label: "What", cell: (x) => h("div", {}, x.gift ? x.gift.description || x.gift.category || "gift" : x.summary, h("div", { class: "hint" }, x.gift ? `given ${x.gift.given_on}` : x.occurred_on)) },
      { label: "Counted", numeric: true, cell: (x) => (x.gift ? money(x.gift.counted_value) : x.amount == null ? "—" : money(x.amount)) },
      { label: "Total / limit", numeric: true, cell: (x) => (x.gift ? `${money(x.counted_total)} / ${money(x.limit)}` : x.threshold == null ? "—" : `limit ${money(x.threshold)}`) },
      { label: "Relationship", cell: (x) => { const id = x.gift ? x.gift.relationship_id : x.relationship_id; return id ? link(`#/relationships/${id}`, "open") : "—"; } },
    ],
    exceptions,
    { id: "exceptions", rowAttributes: (x) => ({ dataset: { recipientId: x.recipient_id, kind: x.kind } }) },
  );
}

function policyFacts(policy) {
  const today = localToday();
  const current = inForce(policy.limit_schedule, today);
  return [
    h("p", { id: "limit-year" }, "Limit year: ", h("strong", {}, limitYearText(policy.limit_year)), "."),
    table(
      [
        { label: "In force from", cell: (c) => h("time", { datetime: c.effective_from }, dateText(c.effective_from)) },
        { label: "Limit", numeric: true, cell: (c) => money(c.amount) },
        { label: "Status", cell: (c) => (c === current ? badge("in force", "good") : c.effective_from > today ? badge("scheduled", "warn") : h("span", { class: "hint" }, "earlier")) },
      ],
      policy.limit_schedule,
      { id: "limit-schedule", rowAttributes: (c) => ({ dataset: { effectiveFrom: c.effective_from } }) },
    ),
  ];
}

/** The forms that change the policy, for compliance officers and admins. `state` holds what is on screen. */
function scheduleLimitForm(state, reload) {
  return commandForm({
    id: "schedule-limit",
    legend: "Schedule a gift limit",
    intro: h(
      "p",
      { class: "hint wide" },
      "The firm's limit from a date on (it replaces a change on that same date). It may only be at or below FINRA's limit in force then. A date before today needs a reason: every recipient it takes over the limit then shows as a breach.",
    ),
    fields: [
      { name: "effective_from", label: "In force from", kind: "date", required: true, value: localToday() },
      { name: "amount", label: "Limit in USD", kind: "money", required: true, placeholder: "250.00" },
      { name: "reason", label: "Reason", kind: "textarea", hint: "Required when the date is before today." },
    ],
    submitLabel: "Schedule the limit",
    request: (v) => ({
      method: "POST",
      path: "/compliance/gift-policy/limits",
      body: { effective_from: v.effective_from, amount: v.amount, ...(v.reason ? { reason: v.reason } : {}) },
      version: state.policy.version,
    }),
    doneText: (answer, v) => `A limit of ${money(v.amount)} from ${dateText(v.effective_from)} is scheduled.`,
    done: (answer) => reload(answer.position),
  });
}

function limitYearForm(state, reload) {
  const current = state.policy.limit_year;
  const form = commandForm({
    id: "limit-year-policy",
    legend: "Set the limit year",
    intro: h("p", { class: "hint wide" }, "How a recipient's year is drawn for the limit: the calendar year, a fiscal year starting in a month, or the 12 months up to each gift."),
    fields: [
      { name: "kind", label: "Limit year", kind: "select", choices: KINDS, value: current.kind },
      {
        name: "start_month",
        label: "Fiscal year starts in",
        kind: "select",
        choices: [["", "—"], ...MONTHS.map((month, index) => [String(index + 1), month])],
        value: current.start_month ? String(current.start_month) : "",
        hint: "Only for a fiscal year.",
      },
    ],
    submitLabel: "Set the limit year",
    reset: false,
    request: (v) => ({
      method: "PUT",
      path: "/compliance/gift-policy/limit-year",
      body: { kind: v.kind, start_month: v.kind === "fiscal" && v.start_month ? Number(v.start_month) : null },
      version: state.policy.version,
    }),
    doneText: (answer, v) => `The limit year is now the ${limitYearText({ kind: v.kind, start_month: Number(v.start_month) })}.`,
    done: (answer) => reload(answer.position),
    onInput: (v, element) => fiscalOnly(element, v.kind),
  });
  fiscalOnly(form, current.kind);
  return form;
}

function fiscalOnly(form, kind) {
  const month = form.querySelector("#limit-year-policy-start_month");
  if (month) month.disabled = kind !== "fiscal";
}

function recipientChoices(select, register) {
  const chosen = select.value;
  const entries = [...register].sort((a, b) => who(a).localeCompare(who(b)));
  select.replaceChildren(
    h("option", { value: "" }, "Choose a recipient…"),
    ...entries.map((e) => h("option", { value: e.recipient_id, selected: e.recipient_id === chosen }, who(e))),
  );
}

function mergeForm(state, year, reload) {
  const versions = new Map(); // recipient id → the version read when they were chosen (If-Match of the merge)
  const preview = h("p", { id: "merge-preview", class: "hint wide", "aria-live": "polite", hidden: true });
  let survivorShown = "";
  const form = commandForm({
    id: "merge-recipients",
    legend: "Merge two recipients",
    intro: [
      h(
        "p",
        { class: "hint wide" },
        `Record that two recipients in the ${year} register are one person: their gifts count together in every limit year from now on, and a year they are over the limit together shows as a breach. No gift is changed.`,
      ),
      preview,
    ],
    fields: [
      { name: "survivor", label: "The recipient who stays", kind: "select", choices: [["", "Choose a recipient…"]], required: true },
      { name: "absorbed_id", label: "The same person, recorded separately", kind: "select", choices: [["", "Choose a recipient…"]], required: true },
      { name: "reason", label: "Why they are one person", kind: "textarea", required: true },
    ],
    submitLabel: "Merge them",
    check: (v) => [
      ...(v.survivor ? [] : [{ field: "survivor", message: "Choose the recipient who stays." }]),
      ...(v.absorbed_id ? [] : [{ field: "absorbed_id", message: "Choose the recipient to merge into them." }]),
      ...(v.survivor && !versions.has(v.survivor) ? [{ field: "survivor", message: "This recipient's record is still being read; submit again in a moment." }] : []),
    ],
    request: (v) => ({
      method: "POST",
      path: `/compliance/recipients/${v.survivor}/merges`,
      body: { absorbed_id: v.absorbed_id, reason: v.reason },
      version: versions.get(v.survivor),
    }),
    doneText: (answer, v) => {
      const [kept, gone] = [v.survivor, v.absorbed_id].map((id) => state.register.find((e) => e.recipient_id === id));
      return kept && gone ? `${who(gone)} is merged into ${who(kept)}.` : "The recipients are merged.";
    },
    done: async (answer) => {
      versions.clear();
      survivorShown = "";
      preview.replaceChildren();
      preview.hidden = true;
      await reload(answer.position);
    },
    onInput: (v) => {
      describe(v);
      if (v.survivor && v.survivor !== survivorShown) readSurvivor(v.survivor);
      if (!v.survivor) survivorShown = "";
    },
  });

  function describe(v) {
    const [kept, gone] = [v.survivor, v.absorbed_id].map((id) => state.register.find((e) => e.recipient_id === id));
    preview.hidden = !kept || !gone || kept === gone;
    if (preview.hidden) {
      preview.replaceChildren();
      return;
    }
    const together = Number(kept.counted_total) + Number(gone.counted_total);
    const over = together > Number(kept.limit);
    preview.replaceChildren(
      `Together ${who(kept)} and ${who(gone)} have ${money(together)} counted in ${kept.limit_year}, against a limit of ${money(kept.limit)}`,
      over ? h("strong", {}, ": over the limit, so that year will show as a breach.") : ".",
    );
  }

  async function readSurvivor(id) {
    survivorShown = id;
    try {
      const response = await request(`/compliance/recipients/${id}`, { params: { year } });
      const etag = /"?(\d+)"?/.exec(response.headers.get("etag") || "");
      if (etag) versions.set(id, Number(etag[1]));
      form.dataset.survivorVersion = etag ? etag[1] : "";
    } catch (error) {
      survivorShown = "";
      form.querySelector("#merge-recipients-survivor-problem")?.replaceChildren(h("span", {}, error.detail || error.message));
    }
  }

  form.refresh = () => {
    for (const id of ["#merge-recipients-survivor", "#merge-recipients-absorbed_id"]) recipientChoices(form.querySelector(id), state.register);
  };
  form.refresh();
  return form;
}

export async function compliancePage({ me, query }) {
  const thisYear = new Date().getFullYear();
  const year = Number(query.get("year")) || thisYear;
  const state = { policy: null, register: [], exceptions: [], search: "" };
  const mayChange = POLICY_ROLES.includes(me.role);
  const summary = h("span", { id: "policy-summary" });
  const cards = h("div", { class: "cards", id: "compliance-cards" });
  const facts = h("div", { id: "policy-facts" });
  const registerPlace = h("div", { id: "register-place" });
  const exceptionsPlace = h("div", { id: "exceptions-place" });
  let merge = null;

  /** Reads the policy, the register and the exceptions (at `position` or later) and redraws them. */
  async function load(position) {
    const params = { year, min_position: position };
    const [policy, register, exceptions] = await Promise.all([
      get("/compliance/gift-policy"),
      all("/compliance/gift-register", params),
      all("/compliance/exceptions", params),
    ]);
    Object.assign(state, { policy, register, exceptions });
    const near = register.filter((entry) => entry.status === "near_limit");
    const breached = register.filter((entry) => entry.status === "breach");
    const counted = register.reduce((total, entry) => total + entry.gifts.length, 0);
    summary.replaceChildren(`Limit year: ${limitYearText(policy.limit_year)}. The tick on each bar marks 80 % of the limit.`);
    cards.replaceChildren(
      card("Recipients", String(register.length)),
      card("Gifts on record", String(counted)),
      card("Over the limit", String(breached.length), breached.length ? "bad" : ""),
      card("Near the limit", String(near.length), near.length ? "bad" : ""),
      card("Exceptions", String(exceptions.length), exceptions.length ? "bad" : ""),
    );
    facts.replaceChildren(...policyFacts(policy));
    if (register.length) {
      const wrap = registerTable(register);
      const count = h("span", { class: "hint", id: "register-count", "aria-live": "polite" });
      const search = searchBox({
        id: "register-search",
        label: "Find a recipient",
        placeholder: "name or employer",
        target: wrap,
        value: state.search,
        onInput: (text) => (state.search = text),
        onCount: (shown, total) => count.replaceChildren(shown === total ? `${total} recipients` : `${shown} of ${total} recipients`),
      });
      registerPlace.replaceChildren(h("div", { class: "controls" }, search, count), wrap);
    } else registerPlace.replaceChildren(empty(`No gifts in ${year}.`));
    exceptionsPlace.replaceChildren(exceptions.length ? exceptionsTable(exceptions) : empty("No exceptions."));
    merge?.refresh();
  }

  await load();
  const picker = yearSelect({ id: "register-year", year, label: "Year", onchange: (event) => (window.location.hash = `#/compliance?year=${event.target.value}`) });
  let changes = null;
  if (mayChange) {
    merge = mergeForm(state, year, load);
    changes = h(
      "div",
      { id: "policy-forms" },
      action("Schedule a gift limit", scheduleLimitForm(state, load)),
      action("Set the limit year", limitYearForm(state, load)),
    );
  }
  return [
    h("h1", {}, "Compliance"),
    h("p", { class: "subtitle" }, "The gift register under FINRA Rule 3220 for ", picker, ". ", summary),
    cards,
    h("h2", {}, "Gift policy"),
    facts,
    changes,
    h("h2", {}, "Gift register"),
    merge ? h("div", { id: "merge-forms" }, action("Merge two recipients", merge)) : null,
    registerPlace,
    h("h2", {}, "Exceptions"),
    exceptionsPlace,
  ];
}
