// Open a relationship: the client's name, kind, industry and tier, and the account manager chosen by name.
// Managers and admins open one for any active account manager; an account manager only for themself.

import { all } from "./api.js";
import { action, commandForm } from "./forms.js";
import { drawingBehind, managerChoices, redrawAround, setChoices } from "./team.js";
import { h, link, problem } from "./ui.js";

const KINDS = [
  ["corporate", "corporate"],
  ["individual", "individual"],
];
const INDUSTRIES = ["advertising", "public_relations", "financial_services", "technology", "other"];
const TIERS = [
  ["standard", "standard (contact every 30 days)"],
  ["major", "major (every 14 days)"],
  ["key", "key (every 7 days)"],
];

/** Who may open a relationship (DOMAIN.md: an account manager for themself; managers and admins for anyone). */
export function mayOpen(role) {
  return ["account_manager", "manager", "admin"].includes(role);
}

/**
 * The "Open a relationship" form. `managers` ([{id, name, email, active}]) are the choices, read from
 * GET /v1/account-managers when not given. `done(answer, values)` shows the change on the page; the form itself
 * links to the new relationship. The element has `refreshManagers(managers)` to bring its choices up to date.
 */
export function openRelationshipForm({ me, managers, done }) {
  const own = me.role === "account_manager";
  const choices = own ? managers.filter((m) => m.id === me.account_manager_id).map((m) => [m.id, m.name]) : managerChoices(managers);
  const form = commandForm({
    id: "open-relationship",
    legend: "Open a relationship",
    submitLabel: "Open relationship",
    fields: [
      { name: "client_name", label: "Client name", required: true, placeholder: "Northwind Traders" },
      { name: "client_kind", label: "Client is", kind: "select", choices: KINDS, value: "corporate" },
      { name: "industry", label: "Industry", kind: "select", choices: INDUSTRIES, value: "technology" },
      { name: "tier", label: "Tier", kind: "select", choices: TIERS, value: "standard" },
      {
        name: "account_manager_id",
        label: "Account manager",
        kind: "select",
        choices,
        value: own ? me.account_manager_id : undefined,
        required: true,
        hint: own ? "You open it for yourself." : "Only active account managers can be assigned.",
      },
    ],
    check: (values) => (values.account_manager_id ? [] : [{ field: "account_manager_id", message: "Choose the account manager it is assigned to." }]),
    request: (values) => ({
      method: "POST",
      path: "/relationships",
      body: {
        client_name: values.client_name,
        client_kind: values.client_kind,
        industry: values.industry,
        tier: values.tier,
        account_manager_id: values.account_manager_id,
      },
    }),
    doneText: (answer, values) => ["Opened ", link(`#/relationships/${answer.id}`, values.client_name || "the relationship"), "."],
    done,
  });
  form.refreshManagers = (fresh) => {
    if (!own) setChoices(form.querySelector("select[name=account_manager_id]"), managerChoices(fresh));
  };
  return form;
}

/**
 * The form in a disclosure, for a page's render to mount: `...openRelationshipAction({ me, rerender })`, where
 * `rerender()` renders the page again (its list is then read again around the form, which keeps its outcome).
 * Nothing for a role that may not open relationships.
 */
export function openRelationshipAction({ me, rerender, done }) {
  if (!mayOpen(me.role)) return [];
  const section = h("section", { id: "open-relationship-section" });
  if (drawingBehind()) return [section];
  section.append(h("p", { class: "loading" }, "Loading…"));
  (async () => {
    try {
      const managers = await all("/account-managers");
      const form = openRelationshipForm({
        me,
        managers,
        done: async (answer, values) => {
          if (rerender) await redrawAround(section, rerender, answer.position);
          await done?.(answer, values);
        },
      });
      section.replaceChildren(action("Open a relationship", form));
    } catch (error) {
      section.replaceChildren(problem(error, "Could not load the account managers"));
    }
  })();
  return [section];
}

/** For `teamSection({ extra })`: the form in a disclosure, redrawing the page around the team section when done. */
export function openingFor(me) {
  return ({ managers, refresh }) => action("Open a relationship", openRelationshipForm({ me, managers, done: refresh }));
}
