// The overload view (managers and admins): each account manager's weighted load as a bar against their own
// capacity, said in words ("over capacity", "at 14 of 20"), the overloaded first; and the form to set a capacity,
// which sends If-Match with the version on screen and redraws the view from the API's answer.

import { get } from "./api.js";
import { action, commandForm } from "./forms.js";
import { bar, empty, h, link, meter, problem, table } from "./ui.js";

const NEAR = 0.8; // from 80 % of their capacity a manager's bar turns amber

/** The load as a share of the capacity (over 1 when over it). */
function share(row) {
  return row.weighted_load / row.capacity;
}

/** How a load stands against its capacity, in words: "over capacity" (with by how much) or "at N of M". */
export function loadWords(row) {
  if (row.overloaded) return { figure: "over capacity", detail: `${row.weighted_load} of ${row.capacity}, ${row.weighted_load - row.capacity} over` };
  const left = row.capacity - row.weighted_load;
  return { figure: `at ${row.weighted_load} of ${row.capacity}`, detail: left ? `${left} to spare` : "full" };
}

/** The weighted load as a bar against the manager's own capacity (a tick where the capacity is), with the words. */
export function loadMeter(row) {
  const words = loadWords(row);
  const scale = Math.max(row.capacity, row.weighted_load);
  const tone = row.overloaded ? "bad" : share(row) >= NEAR ? "warn" : "good";
  const label = `Weighted load ${row.weighted_load} against a capacity of ${row.capacity}: ${words.figure}`;
  return meter(
    bar(row.weighted_load, scale, { tone, ticks: [row.capacity], label }),
    h("span", { class: row.overloaded ? "count-bad load-words" : "load-words" }, words.figure),
    words.detail,
  );
}

/** The overloaded first (the furthest over at the top), then everyone else by how full they are, then by name. */
export function byOverload(rows) {
  return [...rows].sort((a, b) => Number(b.overloaded) - Number(a.overloaded) || share(b) - share(a) || a.name.localeCompare(b.name));
}

function summary(rows) {
  const over = byOverload(rows).filter((row) => row.overloaded);
  if (!rows.length) return "No active account managers.";
  if (!over.length) return `Nobody is over capacity: all ${rows.length} account managers carry at most what they can.`;
  const names = over.map((row) => `${row.name} (${row.weighted_load} of ${row.capacity})`).join(", ");
  return `${over.length} of ${rows.length} account managers ${over.length === 1 ? "is" : "are"} over capacity: ${names}.`;
}

/** The manager's name, whether their capacity is the default or set, and the button that sets it in the form. */
function managerCell(row, form) {
  return [
    link(`#/managers/${row.account_manager_id}`, row.name),
    h("div", { class: "hint capacity-source" }, row.capacity_is_default ? "default capacity" : "capacity set"),
    h("button", { type: "button", class: "set-capacity", "aria-label": `Set capacity of ${row.name}`, onclick: () => form.choose(row.account_manager_id) }, "Set capacity"),
  ];
}

/**
 * The capacity form: the account manager chosen by name and the capacity. Choosing one reads their record, so the
 * version sent as If-Match is the one shown above the fields. `done(answer, values)` redraws what shows capacities.
 */
export function capacityForm({ id = "set-capacity", choices, loads, done }) {
  const versions = new Map();
  const prompt = "Choose whose capacity to set; their record is shown here.";
  const current = h("p", { class: "hint wide", id: `${id}-current`, "aria-live": "polite" }, prompt);
  let asked = 0;
  let shown = "";
  let form;

  async function show(managerId) {
    const ticket = ++asked;
    if (!managerId) {
      current.replaceChildren(prompt);
      return;
    }
    try {
      const record = await get(`/account-managers/${managerId}`);
      if (ticket !== asked) return;
      versions.set(managerId, record.version);
      const load = loads().get(managerId);
      current.replaceChildren(
        h("strong", {}, record.name),
        load === undefined ? "" : ` · weighted load ${load}`,
        ` · capacity ${record.capacity}${record.capacity_is_default ? " (the default)" : ""}`,
        ` · version ${record.version} (sent as If-Match)`,
      );
      const input = form.querySelector(`#${id}-capacity`);
      if (input && !input.dataset.typed) input.value = String(record.capacity);
    } catch (error) {
      if (ticket === asked) current.replaceChildren(problem(error, "Could not read that account manager"));
    }
  }

  form = commandForm({
    id,
    legend: "Set an account manager's capacity",
    intro: current,
    submitLabel: "Set capacity",
    reset: false,
    fields: [
      { name: "account_manager_id", label: "Account manager", kind: "select", choices, required: true },
      {
        name: "capacity",
        label: "Capacity (weighted load)",
        kind: "number",
        min: 1,
        max: 1000,
        required: true,
        hint: "What they can carry: a key relationship counts 4, major 2, standard 1 (a whole number from 1 to 1000).",
      },
    ],
    onInput: (values) => {
      if ((values.account_manager_id || "") !== shown) {
        shown = values.account_manager_id || "";
        delete form.querySelector(`#${id}-capacity`).dataset.typed;
        show(shown);
      }
    },
    check: (values) => (values.account_manager_id ? [] : [{ field: "account_manager_id", message: "Choose the account manager whose capacity to set." }]),
    request: (values) => ({
      method: "PUT",
      path: `/account-managers/${values.account_manager_id}/capacity`,
      body: { capacity: values.capacity },
      version: versions.get(values.account_manager_id),
    }),
    doneText: (_answer, values) => {
      const option = form.querySelector(`#${id}-account_manager_id option[value="${values.account_manager_id}"]`);
      const name = option ? option.textContent.replace(/ \(.*\)$/, "") : "the account manager";
      return `Capacity of ${name} set to ${values.capacity}.`;
    },
    done: async (answer, values) => {
      delete form.querySelector(`#${id}-capacity`).dataset.typed;
      await done?.(answer, values);
      await show(values.account_manager_id);
    },
  });
  // What the person typed stays when the record arrives; a fresh choice of manager shows that manager's capacity.
  form.querySelector(`#${id}-capacity`).addEventListener("input", (event) => {
    event.target.dataset.typed = "1";
  });
  /** Chooses `managerId` in the form, opens it, and puts the focus on the capacity (a row's "Set capacity"). */
  form.choose = (managerId) => {
    const select = form.querySelector(`#${id}-account_manager_id`);
    select.value = managerId;
    select.dispatchEvent(new Event("input", { bubbles: true }));
    const disclosure = form.closest("details");
    if (disclosure) disclosure.open = true;
    form.querySelector(`#${id}-capacity`).focus();
  };
  return form;
}

/**
 * The "Load against capacity" part of the Team section: a sentence naming who is over capacity, a table of every
 * active account manager (the overloaded first) with their load as a bar against their capacity, and the form.
 * `rows` is GET /v1/workload; `choices` the form's [value, label] choices; `done(answer)` runs after a capacity is
 * set (the page around is drawn again). `refresh(position)` reads the workload again once the views hold `position`.
 */
export function capacityPanel({ rows, choices, done }) {
  let current = rows;
  const place = h("div", { id: "capacity-place" });
  const said = h("p", { id: "capacity-summary", "aria-live": "polite" });
  const loads = () => new Map(current.map((row) => [row.account_manager_id, row.weighted_load]));
  const form = capacityForm({ choices, loads, done: (answer) => done?.(answer) });

  function draw() {
    said.replaceChildren(summary(current));
    place.replaceChildren(
      current.length
        ? table(
            [
              // Two columns, so the words stay in sight on a phone: the capacity itself is in them ("at 16 of 20").
              { label: "Name", cell: (row) => managerCell(row, form) },
              { label: "Load against capacity", cell: loadMeter },
            ],
            byOverload(current),
            {
              id: "capacity",
              rowAttributes: (row) => ({ class: row.overloaded ? "overloaded" : undefined, dataset: { managerId: row.account_manager_id, overloaded: String(row.overloaded) } }),
            },
          )
        : empty("No active account managers."),
    );
  }

  draw();
  const panel = h(
    "div",
    { class: "capacity", id: "capacity-panel" },
    h("h3", { id: "capacity-title" }, "Load against capacity"),
    h("p", { class: "hint" }, "Each bar is a manager's weighted load (key 4, major 2, standard 1) against their own capacity, marked by the tick; a capacity nobody has set is the firm's default."),
    said,
    place,
    action("Set an account manager's capacity", form),
  );
  panel.refresh = async (position) => {
    try {
      current = await get("/workload", { params: { min_position: position || undefined } });
      draw();
    } catch (error) {
      place.replaceChildren(problem(error, "Could not read the workload again"));
    }
  };
  panel.form = form;
  return panel;
}
