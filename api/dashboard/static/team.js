// The manager's and the admin's forms about account managers: register one, deactivate one, set their capacity
// (with the overload view: each load against its capacity), and set a year's quota and pay plan. Each is shown only
// to the roles the API lets do it (manager, admin), chooses people by name, sends If-Match from the version on
// screen, and redraws what changed from a fresh read of the API.

import { all, get } from "./api.js";
import { capacityPanel } from "./capacity_form.js";
import { action, commandForm } from "./forms.js";
import { badge, empty, h, money, problem, table } from "./ui.js";

/** Who may register account managers, set quotas and plans, deactivate and open relationships for anyone. */
export function mayManage(role) {
  return role === "manager" || role === "admin";
}

let quiet = 0; // while a page is drawn again behind a section, a fresh copy of the section is only a placeholder

/** Waits until the views hold `position` (a command's answer), so the reads that follow show the change. */
export async function caughtUp(position) {
  if (position) await get("/account-managers", { params: { min_position: position, limit: 1 } });
}

/**
 * Draws the page again around `section` (a direct child of #page): everything else on the page is replaced by a
 * fresh render, the section itself (with its forms, their outcome and the focus) stays where it is.
 */
export async function redrawAround(section, render, position) {
  await caughtUp(position);
  quiet += 1;
  let fresh;
  try {
    fresh = [await render()].flat(Infinity).filter((node) => node instanceof Node);
  } finally {
    quiet -= 1;
  }
  const place = section.parentElement;
  if (!place) return;
  const mine = fresh.findIndex((node) => node.id && node.id === section.id);
  const before = mine < 0 ? fresh : fresh.slice(0, mine);
  const after = mine < 0 ? [] : fresh.slice(mine + 1);
  for (const child of [...place.children]) if (child !== section) child.remove();
  section.before(...before);
  section.after(...after);
}

/** Whether a section is being drawn only to be thrown away (see redrawAround). */
export function drawingBehind() {
  return quiet > 0;
}

/** The options of a select, replaced by `choices` ([value, label]), keeping the chosen value if it is still there. */
export function setChoices(select, choices) {
  if (!select) return;
  const chosen = select.value;
  select.replaceChildren(...choices.map(([value, label]) => h("option", { value }, label)));
  if (choices.some(([value]) => value === chosen)) select.value = chosen;
}

/** [value, label] choices of the active account managers, by name, after a "Choose…" placeholder. */
export function managerChoices(managers, placeholder = "Choose an account manager") {
  const active = managers.filter((m) => m.active).sort((a, b) => a.name.localeCompare(b.name));
  return [["", placeholder], ...active.map((m) => [m.id, `${m.name} (${m.email})`])];
}

/** The register form: name and e-mail. `done(answer, values)` redraws what shows the new manager. */
export function registerForm({ id = "register-manager", done }) {
  return commandForm({
    id,
    legend: "Register an account manager",
    submitLabel: "Register",
    fields: [
      { name: "name", label: "Name", required: true },
      { name: "email", label: "E-mail", kind: "email", required: true },
    ],
    request: (values) => ({ method: "POST", path: "/account-managers", body: { name: values.name, email: values.email } }),
    doneText: (_answer, values) => `Registered ${values.name}.`,
    done,
  });
}

/**
 * The deactivate form: the account manager chosen by name and a reason. Choosing one reads their record, so the
 * version sent as If-Match is the one shown under the choice.
 */
export function deactivateForm({ id = "deactivate-manager", managers, done }) {
  const versions = new Map();
  const current = h("p", { class: "hint wide", id: `${id}-current`, "aria-live": "polite" }, "Choose who to deactivate; their record is shown here.");
  let asked = 0;
  async function show(managerId) {
    const ticket = ++asked;
    if (!managerId) {
      current.replaceChildren("Choose who to deactivate; their record is shown here.");
      return;
    }
    try {
      const record = await get(`/account-managers/${managerId}`);
      if (ticket !== asked) return;
      versions.set(managerId, record.version);
      current.replaceChildren(
        h("strong", {}, record.name),
        ` · ${record.email} · `,
        badge(record.active ? "active" : "deactivated", record.active ? "good" : "closed"),
        ` · version ${record.version}`,
      );
    } catch (error) {
      if (ticket === asked) current.replaceChildren(problem(error, "Could not read that account manager"));
    }
  }
  let shown = "";
  const form = commandForm({
    id,
    legend: "Deactivate an account manager",
    intro: current,
    submitLabel: "Deactivate",
    fields: [
      { name: "account_manager_id", label: "Account manager", kind: "select", choices: managerChoices(managers), required: true },
      { name: "reason", label: "Reason", kind: "textarea", required: true, hint: "Their relationships stay with them until reassigned; they can no longer sign in or be assigned." },
    ],
    onInput: (values) => {
      if (values.account_manager_id !== shown) {
        shown = values.account_manager_id || "";
        show(shown);
      }
    },
    check: (values) => (values.account_manager_id ? [] : [{ field: "account_manager_id", message: "Choose the account manager to deactivate." }]),
    request: (values) => ({
      method: "POST",
      path: `/account-managers/${values.account_manager_id}/deactivation`,
      body: { reason: values.reason },
      version: versions.get(values.account_manager_id),
    }),
    doneText: (_answer, values) => {
      const chosen = managers.find((m) => m.id === values.account_manager_id);
      return `Deactivated ${chosen ? chosen.name : "the account manager"}.`;
    },
    done: async (answer, values) => {
      shown = "";
      current.replaceChildren("Choose who to deactivate; their record is shown here.");
      await done?.(answer, values);
    },
  });
  form.refreshManagers = (fresh) => {
    managers = fresh;
    setChoices(form.querySelector("select[name=account_manager_id]"), managerChoices(fresh));
  };
  return form;
}

/**
 * The Team section of a page (managers and admins): who is over capacity, with each load against its capacity and
 * the form to set one; register and deactivate account managers; and whatever `extra({managers, refresh})` adds
 * (the workload page: open a relationship). `rerender()` renders the page again; after each command the
 * capacities and everything around the section are drawn afresh from the API.
 */
export function teamSection({ me, rerender, extra }) {
  if (!mayManage(me.role)) return [];
  const section = h("section", { id: "team", class: "team", "aria-labelledby": "team-title" }, h("h2", { id: "team-title" }, "Team"));
  if (drawingBehind()) return [section];
  section.append(h("p", { class: "loading" }, "Loading the team's forms…"));
  (async () => {
    let managers;
    let loads;
    try {
      [managers, loads] = await Promise.all([all("/account-managers"), get("/workload")]);
    } catch (error) {
      section.replaceChildren(h("h2", { id: "team-title" }, "Team"), problem(error, "Could not load the account managers"));
      return;
    }
    let capacity = null;
    const refresh = async (answer) => {
      await capacity?.refresh(answer.position);
      await redrawAround(section, rerender, answer.position);
      managers = await all("/account-managers");
      for (const form of section.querySelectorAll("form")) form.refreshManagers?.(managers);
    };
    capacity = capacityPanel({ rows: loads, choices: managerChoices(managers), done: refresh });
    capacity.form.refreshManagers = (fresh) => setChoices(capacity.form.querySelector("select[name=account_manager_id]"), managerChoices(fresh));
    section.replaceChildren(
      h("h2", { id: "team-title" }, "Team"),
      h("p", { class: "hint" }, "See who is over capacity and set a manager's capacity, register an account manager, deactivate one, or open a relationship for any of them; the figures are read again after each."),
      capacity,
      action("Register an account manager", registerForm({ done: refresh })),
      action("Deactivate an account manager", deactivateForm({ managers, done: refresh })),
      ...(extra ? [extra({ managers, refresh })].flat() : []),
    );
  })();
  return [section];
}

function plansTable(record) {
  const years = [...new Set([...Object.keys(record.quotas), ...Object.keys(record.compensation_plans)])].sort().reverse();
  if (!years.length) return empty("No quota or pay plan set yet.");
  const rate = (text) => (text === undefined ? "—" : `${(Number(text) * 100).toFixed(2).replace(/\.?0+$/, "")} %`);
  return table(
    [
      { label: "Year", cell: (y) => y },
      { label: "Quota", numeric: true, cell: (y) => money(record.quotas[y]) },
      { label: "Base salary", numeric: true, cell: (y) => money(record.compensation_plans[y]?.base_salary) },
      { label: "Commission", numeric: true, cell: (y) => rate(record.compensation_plans[y]?.commission_rate) },
      { label: "Accelerator", numeric: true, cell: (y) => rate(record.compensation_plans[y]?.accelerator_rate) },
      { label: "Bonus at", numeric: true, cell: (y) => (record.compensation_plans[y] ? `${rate(record.compensation_plans[y].bonus_threshold)} of quota` : "—") },
      { label: "Bonus", numeric: true, cell: (y) => money(record.compensation_plans[y]?.bonus_amount) },
    ],
    years,
    { id: "plans", rowAttributes: (y) => ({ dataset: { year: y } }) },
  );
}

/**
 * The manager page's "Quota and pay plan" section (managers and admins): the quotas and plans by year, and forms
 * to set a year's quota and plan. `payPanel(pay)` draws the pay panel (#pay) again when the shown year changed.
 */
export function planSection({ me, id, year, payPanel }) {
  if (!mayManage(me.role)) return [];
  const section = h("section", { id: "plan-forms", "aria-labelledby": "plan-title" }, h("h2", { id: "plan-title" }, "Quota and pay plan"), h("p", { class: "loading" }, "Loading…"));
  (async () => {
    let record;
    try {
      record = await get(`/account-managers/${id}`);
    } catch (error) {
      section.replaceChildren(h("h2", { id: "plan-title" }, "Quota and pay plan"), problem(error, "Could not read the account manager"));
      return;
    }
    const tablePlace = h("div", { id: "plans-place" }, plansTable(record));
    const about = h("p", { class: "hint", id: "plan-record" });
    const describe = () => about.replaceChildren(`${record.name} · ${record.email} · version ${record.version} (sent as If-Match)`);
    describe();
    const saved = async (answer, values) => {
      record = await get(`/account-managers/${id}`);
      describe();
      tablePlace.replaceChildren(plansTable(record));
      if (Number(values.year) === year && payPanel) {
        const pay = await get(`/account-managers/${id}/pay/${year}`, { params: { min_position: answer.position } });
        document.getElementById("pay")?.replaceWith(payPanel(pay));
      }
    };
    const plan = record.compensation_plans[String(year)] || {};
    const yearField = { name: "year", label: "Year", kind: "number", value: year, min: 1900, max: 2199, required: true };
    const yearGiven = (values) => (Number.isInteger(values.year) ? [] : [{ field: "year", message: "Enter the year, e.g. 2026." }]);
    const quota = commandForm({
      id: "set-quota",
      legend: "Set the quota",
      submitLabel: "Set quota",
      reset: false,
      check: yearGiven,
      fields: [yearField, { name: "amount", label: "Quota (USD)", kind: "money", value: record.quotas[String(year)], required: true, placeholder: "1500000.00", hint: "Signed value expected in the year, e.g. 1500000.00" }],
      request: (values) => ({ method: "PUT", path: `/account-managers/${id}/quotas/${values.year}`, body: { amount: values.amount }, version: record.version }),
      doneText: (_answer, values) => `Quota for ${values.year} set to ${money(values.amount)}.`,
      done: saved,
    });
    const planForm = commandForm({
      id: "set-plan",
      legend: "Set the pay plan",
      submitLabel: "Set pay plan",
      reset: false,
      check: yearGiven,
      fields: [
        yearField,
        { name: "base_salary", label: "Base salary (USD)", kind: "money", value: plan.base_salary, required: true, placeholder: "85000.00" },
        { name: "commission_rate", label: "Commission rate", value: plan.commission_rate, required: true, placeholder: "0.05", hint: "A fraction of signed value: 0.05 is 5 %" },
        { name: "accelerator_rate", label: "Accelerator rate", value: plan.accelerator_rate, required: true, placeholder: "0.02", hint: "Extra, on signed value above the quota" },
        { name: "bonus_threshold", label: "Bonus threshold", value: plan.bonus_threshold, required: true, placeholder: "1.0", hint: "A fraction of the quota: 1.0 means at quota" },
        { name: "bonus_amount", label: "Bonus (USD)", kind: "money", value: plan.bonus_amount, required: true, placeholder: "10000.00" },
      ],
      request: (values) => ({
        method: "PUT",
        path: `/account-managers/${id}/compensation-plans/${values.year}`,
        body: {
          base_salary: values.base_salary,
          commission_rate: values.commission_rate,
          accelerator_rate: values.accelerator_rate,
          bonus_threshold: values.bonus_threshold,
          bonus_amount: values.bonus_amount,
        },
        version: record.version,
      }),
      doneText: (_answer, values) => `Pay plan for ${values.year} set.`,
      done: saved,
    });
    for (const input of planForm.querySelectorAll("input[name$=_rate], input[name=bonus_threshold]")) input.setAttribute("inputmode", "decimal");
    section.replaceChildren(
      h("h2", { id: "plan-title" }, "Quota and pay plan"),
      about,
      tablePlace,
      action("Set the quota for a year", quota),
      action("Set the pay plan for a year", planForm),
    );
  })();
  return [section];
}
