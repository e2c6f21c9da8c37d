// A manager's or admin's forms on the relationship page (mounted by relationship_forms.js, listed under "Manage"):
// reassign it to another account manager (chosen by name), set its tier and contact cadence, close or reopen it.

import { setChoices } from "./form_helpers.js";
import { h } from "./ui.js";

const TIERS = ["key", "major", "standard"];

/** The decisions on a relationship, added to `panel`; `refresh()` after every read. */
export function managerForms({ add, state }) {
  const manage = { group: "manage" };
  const others = () => state.managers.filter((m) => m.active && m.id !== state.relationship.account_manager_id);
  const assignForm = add(
    "assign",
    "Reassign",
    {
      legend: "Reassign the relationship",
      submitLabel: "Reassign",
      fields: [
        { name: "account_manager_id", label: "New account manager", kind: "select", choices: [], required: true },
        { name: "reason", label: "Reason", required: true },
      ],
      path: "/assignments",
      doneText: (answer, v) => `Reassigned to ${(state.managers.find((m) => m.id === v.account_manager_id) || {}).name || "them"} (version ${answer.version}).`,
    },
    { ...manage, available: () => others().length > 0 },
  );
  /** The other active managers by name; a name two of them share is told apart by email. */
  const assignChoices = () => {
    const names = new Map();
    for (const m of others()) names.set(m.name, (names.get(m.name) || 0) + 1);
    return others().map((m) => [m.id, names.get(m.name) > 1 ? `${m.name} (${m.email})` : m.name]);
  };

  /** A setting of the relationship: one field, PUT to `path`. */
  const setting = (key, label, submitLabel, path, field, doneText) => add(key, label, { submitLabel, fields: [field], method: "PUT", path, doneText }, manage);
  const tierForm = setting(
    "tier",
    "Set the tier",
    "Set tier",
    "/tier",
    { name: "tier", label: "Tier", kind: "select", choices: TIERS, value: state.relationship.tier },
    (answer, v) => `Tier set to ${v.tier} (version ${answer.version}).`,
  );
  const cadenceForm = setting(
    "cadence",
    "Set the contact cadence",
    "Set cadence",
    "/cadence",
    { name: "days", label: "Days between contacts", kind: "number", value: state.relationship.cadence_days, min: 1, max: 365, required: true },
    (answer, v) => `Contact every ${v.days} days (version ${answer.version}).`,
  );

  /** Closing or reopening: a reason, sent to `path`, offered while the relationship is `status`. */
  const statusChange = (key, label, submitLabel, path, status, doneWord, intro) =>
    add(
      key,
      label,
      { submitLabel, intro, fields: [{ name: "reason", label: "Reason", required: true }], path, doneText: (answer) => `${doneWord} (version ${answer.version}).` },
      { ...manage, available: () => state.relationship.status === status },
    );
  const closingNote = h("p", { class: "hint wide" }, "Nothing more can be recorded on it until it is reopened.");
  statusChange("close", "Close the relationship", "Close relationship", "/closure", "open", "Closed", closingNote);
  statusChange("reopen", "Reopen the relationship", "Reopen relationship", "/reopening", "closed", "Reopened");

  return {
    refresh() {
      setChoices(assignForm, "account_manager_id", assignChoices());
      setChoices(tierForm, "tier", TIERS.map((tier) => [tier, tier]), state.relationship.tier);
      const days = cadenceForm.elements.namedItem("days");
      days.defaultValue = String(state.relationship.cadence_days);
      days.value = String(state.relationship.cadence_days);
    },
  };
}
