// Relationships: the list (an account manager sees only their own), and one relationship's state, its whole
// timeline, and an as-of control (a version slider, or a date and time) showing the state as recorded then.
// Its former account manager sees it as they handed it over, and only the events the API lets them read.

import { ApiError, all, get, request } from "./api.js";
import { openRelationshipAction } from "./relationship_create.js";
import { relationshipForms } from "./relationship_forms.js";
import { actorDirectory, describe, storyOf } from "./story.js";
import { badge, dateText, dayHeading, empty, h, link, localDay, localTime, money, problem, searchBox, table, tierBadge, time } from "./ui.js";

async function managerNames() {
  try {
    const managers = await all("/account-managers");
    return new Map(managers.map((m) => [m.id, m.name]));
  } catch {
    return new Map(); // names are a nicety: the ids still link
  }
}

/** The ids of the relationships overdue for contact, from the workload of each manager shown (or only `one`). */
async function overdueIds(me, one) {
  let managers;
  if (me.role === "account_manager") managers = [me.account_manager_id];
  else if (one) managers = [one];
  else managers = (await get("/workload")).map((row) => row.account_manager_id);
  const found = new Map();
  const loads = await Promise.all(managers.map((managerId) => get(`/account-managers/${managerId}/workload`).catch(() => null)));
  for (const load of loads) for (const r of (load && load.overdue_relationships) || []) found.set(r.relationship_id, r);
  return found;
}

export async function relationshipsPage({ me, query }) {
  const tier = query.get("tier") || "";
  const status = query.get("status") || "";
  const manager = me.role === "account_manager" ? "" : query.get("manager") || "";
  const overdueOnly = query.get("overdue") === "yes";
  const search = query.get("q") || "";
  const [listed, names, overdue] = await Promise.all([
    all("/relationships", { tier, status, account_manager_id: manager }),
    managerNames(),
    overdueOnly ? overdueIds(me, manager) : Promise.resolve(null),
  ]);
  const items = overdue ? listed.filter((r) => overdue.has(r.id)) : listed;
  const chosen = { tier, status, manager, overdue: overdueOnly ? "yes" : "", q: search };
  const address = (changes) => {
    const next = new URLSearchParams(Object.entries({ ...chosen, ...changes }).filter(([, v]) => v));
    return `#/relationships${next.toString() ? `?${next}` : ""}`;
  };
  const go = (changes) => {
    window.location.hash = address(changes);
  };
  const pick = (name, label, value, options) =>
    h(
      "span",
      { class: "filter" },
      h("label", { for: `filter-${name}` }, label),
      h(
        "select",
        { id: `filter-${name}`, onchange: (event) => go({ [name]: event.target.value }) },
        options.map(([option, text]) => h("option", { value: option, selected: option === value }, text)),
      ),
    );
  const count = h("span", { class: "hint", id: "relationship-count", "aria-live": "polite" }, `${items.length} relationships`);
  const listPlace = h("div", { id: "relationship-list" });
  const managerChoices = [["", "any manager"], ...[...names].sort((a, b) => a[1].localeCompare(b[1])).map(([id, name]) => [id, name])];
  const overdueBox = h("input", { id: "filter-overdue", type: "checkbox", checked: overdueOnly, onchange: (event) => go({ overdue: event.target.checked ? "yes" : "" }) });
  const wrap = items.length
    ? table(
        [
          { label: "Client", cell: (r) => link(`#/relationships/${r.id}`, r.client_name) },
          { label: "Industry", cell: (r) => r.industry.replace("_", " ") },
          { label: "Tier", cell: (r) => tierBadge(r.tier) },
          { label: "Status", cell: (r) => badge(r.status) },
          { label: "Account manager", cell: (r) => link(`#/managers/${r.account_manager_id}`, names.get(r.account_manager_id) || "account manager") },
          {
            label: overdue ? "Contact was due" : "Last contact",
            cell: (r) => (overdue ? [time(overdue.get(r.id).contact_due), " ", badge("overdue", "bad")] : time(r.last_contact_at)),
          },
        ],
        items,
        { id: "relationships", rowAttributes: (r) => ({ dataset: { relationshipId: r.id, managerId: r.account_manager_id, search: r.client_name } }) },
      )
    : empty("No relationships match.");
  listPlace.append(wrap);
  const finder = searchBox({
    id: "filter-name",
    label: "Client name",
    placeholder: "Type part of a name",
    target: listPlace,
    value: search,
    onCount: (shown, total) => {
      count.textContent = shown === total ? `${total} relationships` : `${shown} of ${total} relationships`;
    },
    // The address keeps the search (without a redraw), so a link or a reload shows the same list.
    onInput: (text) => {
      chosen.q = text.trim();
      history.replaceState(null, "", address({}));
    },
  });
  return [
    h("h1", {}, "Relationships"),
    h(
      "p",
      { class: "subtitle" },
      me.role === "account_manager" ? "The relationships currently assigned to you." : "Every relationship, in the order they were opened.",
    ),
    h(
      "div",
      { class: "controls", role: "search", "aria-label": "Filter relationships" },
      finder,
      me.role === "account_manager" ? null : pick("manager", "Manager", manager, managerChoices),
      pick("tier", "Tier", tier, [["", "any tier"], ["key", "key"], ["major", "major"], ["standard", "standard"]]),
      pick("status", "Status", status, [["", "any status"], ["open", "open"], ["closed", "closed"]]),
      h("span", { class: "filter check" }, overdueBox, h("label", { for: "filter-overdue" }, "Overdue for contact")),
      count,
    ),
    ...openRelationshipAction({ me, rerender: () => relationshipsPage({ me, query }) }),
    listPlace,
  ];
}

/**
 * The timeline: newest first, one group of rows per local day (recorded time), each row saying in words what
 * the event did and who did it, by name. One `<tr data-version>` per event; the day heads its group.
 */
function timeline(events, actors, managerName) {
  const story = storyOf(events);
  const newest = [...events].sort((a, b) => b.version - a.version);
  const days = [];
  for (const event of newest) {
    const day = localDay(event.recorded_at);
    if (!days.length || days[days.length - 1].day !== day) days.push({ day, events: [] });
    days[days.length - 1].events.push(event);
  }
  const rows = [];
  const groups = days.map(({ day, events: those }) =>
    h(
      "tbody",
      { class: "day", dataset: { day } },
      those.map((event, index) => {
        const row = h(
          "tr",
          { dataset: { version: event.version, type: event.type } },
          index === 0 ? h("th", { scope: "rowgroup", rowspan: those.length, class: "day-head" }, h("time", { datetime: day }, dayHeading(day))) : null,
          h("td", { class: "when" }, time(event.recorded_at, undefined, "clock")),
          h(
            "td",
            { class: "what" },
            h("div", { class: "said" }, describe(event, story, managerName)),
            h("div", { class: "hint" }, event.type),
          ),
          h("td", { class: "actor-cell" }, actors.cell(event)),
          h("td", { class: "num version" }, h("span", { title: `correlation id ${event.correlation_id}` }, String(event.version))),
        );
        rows.push(row);
        return row;
      }),
    ),
  );
  const head = h("thead", {}, h("tr", {}, ["Day", "Time", "What happened", "Who", "Version"].map((t) => h("th", { scope: "col", class: t === "Version" ? "num" : "" }, t))));
  const table = h("table", { id: "timeline", class: "timeline" }, h("caption", { class: "visually-hidden" }, "Timeline, newest first"), head, groups);
  // The newest events first; the older ones a click away (a long history is not a page of thousands of pixels).
  const more = h("button", { type: "button", id: "timeline-more", class: "more" });
  function fold(folded) {
    rows.forEach((row, index) => {
      row.hidden = folded && index >= TIMELINE_SHOWN;
    });
    for (const group of groups) group.hidden = [...group.rows].every((row) => row.hidden);
    more.hidden = rows.length <= TIMELINE_SHOWN;
    more.textContent = folded ? `Show the ${rows.length - TIMELINE_SHOWN} older events` : `Show only the newest ${TIMELINE_SHOWN}`;
    more.setAttribute("aria-expanded", String(!folded));
  }
  let folded = true;
  more.addEventListener("click", () => {
    folded = !folded;
    fold(folded);
  });
  fold(folded);
  const reveal = () => {
    if (folded) {
      folded = false;
      fold(false);
    }
  };
  const element = h("div", {}, h("div", { class: "table-wrap" }, table), more);
  return { element, rows, reveal };
}

const TIMELINE_SHOWN = 30;

const FIELDS = [
  ["Client", (s) => s.client_name, "client_name"],
  ["Kind", (s) => s.client_kind, "client_kind"],
  ["Industry", (s) => s.industry.replace("_", " "), "industry"],
  ["Tier", (s) => tierBadge(s.tier), "tier"],
  ["Status", (s) => badge(s.status), "status"],
  ["Account manager", null, "account_manager_id"],
  ["Contact cadence", (s) => `every ${s.cadence_days} days`, "cadence_days"],
  ["Last contact", (s) => time(s.last_contact_at), "last_contact_at"],
  ["Next follow-up", (s) => time(s.next_follow_up_on), "next_follow_up_on"],
  ["Opened (recorded)", (s) => time(s.opened_at), "opened_at"],
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
            { label: "When", cell: (d) => time(d.scheduled_for) },
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
            { label: "Term", cell: (c) => [time(c.starts_on), " to ", time(c.ends_on)] },
            { label: "Status", cell: (c) => badge(c.status, c.status === "signed" ? "good" : c.status === "terminated" ? "closed" : "warn") },
            { label: "Signed on", cell: (c) => time(c.signed_on) },
          ],
          contracts,
        )
      : empty("No contracts."),
  ];
}

/**
 * The relationship as the API answers it with no version asked: now, or for its former account manager the state
 * they handed over (the answer's Content-Location names that version). `handedOver` says which.
 */
async function currentFor(id) {
  const response = await request(`/relationships/${id}`);
  return { now: await response.json(), handedOver: response.headers.has("content-location") };
}

/** For a former account manager: what they are looking at, in one sentence. */
function formerNote(state) {
  return h(
    "p",
    { class: "banner", id: "former-manager-note" },
    `You managed this relationship until ${dateText(localDay(state.recorded_at))}. You see it as you handed it over, and what has happened since to the contracts credited to you.`,
  );
}

export async function relationshipPage(context) {
  const { params, me } = context;
  const [id] = params;
  const [{ now, handedOver }, events, names] = await Promise.all([currentFor(id), all(`/relationships/${id}/events`), managerNames()]);
  const actors = await actorDirectory(me, names);
  const recordedAt = new Map(events.map((e) => [e.version, e.recorded_at]));
  const statePlace = h("div", { class: "panel" }, stateFacts(now, now, names));
  const tablesPlace = h("div", {}, stateTables(now));
  const banner = h("div", { id: "asof-banner", "aria-live": "polite" });
  const label = h("output", { id: "asof-label", for: "asof-version" });
  const slider = h("input", { id: "asof-version", type: "range", min: 1, max: now.version, step: 1, value: now.version, "aria-label": "Version" });
  const when = h("input", { id: "asof-time", type: "datetime-local", step: 1, "aria-label": "As recorded at (your local time)" });
  let asking = 0;

  const { element: timelineElement, rows, reveal } = timeline(events, actors, (managerId) => names.get(managerId));

  function labelFor(version) {
    label.textContent = `Version ${version} of ${now.version} · recorded ${localTime(recordedAt.get(version))}`;
  }

  function show(state, problemShown) {
    const version = state ? state.version : 0;
    if (state && rows.some((row) => row.hidden && Number(row.dataset.version) >= version)) reveal(); // the row asked for shows
    for (const row of rows) {
      const v = Number(row.dataset.version);
      // At the handover, what came since (to the contracts credited to them) is what a former manager came to read.
      row.classList.toggle("later", v > version && !(handedOver && version === now.version));
      row.classList.toggle("current-version", v === version && version !== now.version);
    }
    if (problemShown) {
      // Nothing of the state shown before stays under the error: it would read as the answer.
      banner.replaceChildren(problemShown);
      statePlace.replaceChildren(h("p", { class: "empty", id: "state-none" }, "No state to show for that moment."));
      tablesPlace.replaceChildren();
      label.textContent = "";
      return;
    }
    slider.value = String(version);
    labelFor(version);
    statePlace.replaceChildren(stateFacts(state, now, names));
    tablesPlace.replaceChildren(...stateTables(state));
    banner.replaceChildren(
      version === now.version
        ? h("p", { class: "hint" }, handedOver ? "Showing the state as you handed it over." : "Showing the current state.")
        : h(
            "div",
            { class: "banner", id: "asof-note" },
            handedOver
              ? `Showing the state as recorded at version ${version} (${localTime(state.recorded_at)}); you handed it over at version ${now.version}. Highlighted facts changed before then.`
              : `Showing the state as recorded at version ${version} (${localTime(state.recorded_at)}); it is now at version ${now.version}. Highlighted facts have changed since.`,
            h("button", { type: "button", onclick: () => show(now) }, handedOver ? "Back to the handover" : "Back to now"),
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
    ask({ as_of: at.toISOString() }, localTime(at.toISOString()));
  };
  labelFor(now.version);
  show(now);

  // The forms of the roles that may record or decide here (relationship_forms.js); after an answer they draw the
  // page again with this same function, keeping themselves (open forms, focus) in place. A former manager writes
  // nothing, so has none.
  const forms = await relationshipForms({ relationship: now, events, handedOver, render: () => relationshipPage(context) });

  return [
    h("div", { class: "crumbs" }, link("#/relationships", "Relationships"), " / ", link(`#/managers/${now.account_manager_id}`, names.get(now.account_manager_id) || "account manager")),
    h("h1", { id: "client-name" }, now.client_name),
    ...(handedOver ? [formerNote(now)] : []),
    handedOver
      ? h("p", { class: "subtitle" }, `${events.length} events you may read · handed over at version ${now.version}, recorded `, time(now.recorded_at))
      : h("p", { class: "subtitle" }, `${events.length} events · version ${now.version} · last recorded `, time(now.recorded_at)),
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
        h("button", { type: "button", id: "asof-now", onclick: () => show(now) }, handedOver ? "As handed over" : "Now"),
      ),
    ),
    banner,
    h("h2", {}, "State"),
    statePlace,
    tablesPlace,
    forms,
    h("h2", {}, "Timeline"),
    h(
      "p",
      { class: "hint" },
      handedOver
        ? "Newest first, grouped by the day it was recorded (your local time; UTC on hover): what happened while you managed it, and since then to the contracts credited to you."
        : "Newest first, grouped by the day it was recorded (your local time; UTC on hover).",
    ),
    timelineElement,
  ];
}
