// The relationship page's correction forms (mounted by relationship_forms.js): correct an entry (an account
// manager's change to a signed contract becomes a request) and, for a manager or admin, approve or reject the open
// correction requests. The entry is chosen by what it says, the field by name, and the new value is typed in a
// control of that field's kind, prefilled with its value now.

import { CHANNELS, OUTCOMES } from "./contact_forms.js";
import { setChoices, widen, words } from "./form_helpers.js";
import { withOffset } from "./forms.js";
import { peopleList } from "./people_field.js";
import { h, localTime, money } from "./ui.js";

/** What each event type lets a correction change (domain/relationship_events.py), and how each value is typed. */
const CORRECTABLE = {
  Opened: { client_name: "text", client_kind: ["individual", "corporate"], industry: ["advertising", "public_relations", "financial_services", "technology", "other"] },
  ContactLogged: { occurred_at: "datetime", channel: CHANNELS, summary: "textarea", next_follow_up_on: "date" },
  ProductIntroduced: { occurred_at: "datetime", outcome: OUTCOMES },
  DemoScheduled: { product: "text", location: "text", staff: "staff" },
  DemoCompleted: { outcome: "textarea" },
  ContractProposed: { title: "text", value: "money", starts_on: "date", ends_on: "date" },
  ContractSigned: { signed_on: "date", value: "money" },
  GiftGiven: { description: "textarea" },
  EntertainmentProvided: { occurred_on: "date", description: "textarea", cost: "money", attendees: "lines" },
};
const CORRECTED_NAMES = new Set(Object.values(CORRECTABLE).flatMap((fields) => Object.keys(fields)));

const TYPE_WORDS = {
  Opened: "Opening",
  ContactLogged: "Contact",
  ProductIntroduced: "Product introduced",
  DemoScheduled: "Demo scheduled",
  DemoCompleted: "Demo completed",
  ContractProposed: "Contract proposed",
  ContractSigned: "Contract signed",
  GiftGiven: "Gift",
  EntertainmentProvided: "Entertainment",
};

/** An RFC 3339 time as a `datetime-local` value in the viewer's zone. */
function localInput(text) {
  const when = new Date(text);
  if (Number.isNaN(when.getTime())) return "";
  return new Date(when.getTime() - when.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

/** The form's "New value" field: a control of the chosen field's kind, set by `setKind(kind, value)`. */
function correctionValue(suggestions) {
  return {
    name: "value",
    label: "New value",
    kind: "custom",
    control: (fieldId) => {
      const place = h("div", { id: `${fieldId}-place`, class: "correction-value" });
      place.correction = { kind: null, read: () => null };
      place.setKind = (kind, value) => {
        let control;
        let read;
        if (kind === "staff") {
          control = peopleList(fieldId, "New staff", "staff", suggestions);
          control.people.set(Array.isArray(value) ? value : []);
          read = () => control.people.read();
        } else if (Array.isArray(kind)) {
          control = h("select", { id: fieldId }, kind.map((choice) => h("option", { value: choice, selected: choice === value }, words(choice))));
          read = () => control.value;
        } else if (kind === "textarea" || kind === "lines") {
          const text = kind === "lines" && Array.isArray(value) ? value.join("\n") : value ?? "";
          control = h("textarea", { id: fieldId, rows: 3 }, text);
          read = () => (kind === "lines" ? control.value.split("\n").map((line) => line.trim()).filter(Boolean) : control.value.trim() || null);
        } else {
          const type = { datetime: "datetime-local", date: "date" }[kind] || "text";
          const shown = kind === "datetime" && value ? localInput(value) : value ?? "";
          control = h("input", { id: fieldId, type, value: shown, autocomplete: "off", inputmode: kind === "money" ? "decimal" : undefined });
          read = () => {
            const typed = control.value.trim();
            if (!typed) return null;
            return kind === "datetime" ? withOffset(typed) : typed;
          };
        }
        if (control.tagName !== "DIV") control.setAttribute("aria-describedby", `${fieldId}-problem`);
        place.replaceChildren(...[control, kind === "lines" ? h("small", { class: "hint" }, "One name per line.") : null].filter(Boolean));
        place.correction = { kind, read };
      };
      return place;
    },
    read: (place) => place.correction.read(),
  };
}

/** "Correct an entry" (for an account manager: "or ask for a correction"), added to `panel`; `refresh()` after every read. */
export function correctionForm({ add, me, state, suggestions }) {
  /** The events a correction may name: newest first, described in words, with what each lets change. */
  function correctable() {
    const contracts = state.relationship.contracts || {};
    return [...state.events]
      .filter((event) => CORRECTABLE[event.type])
      .filter((event) => {
        const contract = event.data && event.data.contract_id ? contracts[event.data.contract_id] : null;
        if (event.type === "ContractProposed") return contract && contract.status === "proposed";
        if (event.type === "ContractSigned") return contract && contract.status === "signed";
        return true;
      })
      .reverse();
  }

  /** A field's value as it stands now: the event's, or the latest correction's. */
  function currentValue(event, field) {
    let value = event.data ? event.data[field] : undefined;
    for (const later of state.events) {
      if (later.type === "EntryCorrected" && later.data && later.data.corrects_version === event.version && later.data.changes && field in later.data.changes) {
        value = later.data.changes[field];
      }
    }
    return value;
  }

  function describe(event) {
    const d = event.data || {};
    const when = d.occurred_at || d.signed_on || d.given_on || d.occurred_on || event.recorded_at;
    const what = {
      Opened: () => d.client_name,
      ContactLogged: () => `${d.channel}, ${d.summary}`,
      ProductIntroduced: () => `${d.product}, ${d.outcome}`,
      DemoScheduled: () => `${d.product} at ${d.location}`,
      DemoCompleted: () => d.outcome,
      ContractProposed: () => `${d.title}, ${money(d.value)}`,
      ContractSigned: () => `${(state.relationship.contracts[d.contract_id] || {}).title || "contract"}, ${money(d.value)}`,
      GiftGiven: () => `${d.description} to ${(d.recipient || {}).name || "someone"}`,
      EntertainmentProvided: () => `${d.description}, ${money(d.cost)}`,
    }[event.type];
    const text = String(what ? what() : "");
    return `${TYPE_WORDS[event.type] || event.type}, ${localTime(when)}: ${text.length > 80 ? `${text.slice(0, 79)}…` : text} (version ${event.version})`;
  }

  let correctionShown = "";
  const form = add(
    "correction",
    me.role === "account_manager" ? "Correct an entry, or ask for a correction" : "Correct an entry",
    {
      legend: "Correct an entry",
      submitLabel: me.role === "account_manager" ? "Send correction" : "Correct",
      intro: h(
        "p",
        { class: "hint wide" },
        "A correction is a new event naming the one it corrects; nothing is overwritten.",
        me.role === "account_manager" ? " A change to a signed contract's value or date waits for a manager's approval." : "",
      ),
      fields: [
        { name: "event", label: "Entry", kind: "select", choices: [], required: true },
        { name: "field", label: "Field", kind: "select", choices: [], required: true },
        correctionValue(suggestions),
        { name: "reason", label: "Reason", required: true },
      ],
      fieldOf: (field) => {
        if (field === "corrects_version") return "event";
        if (field === "changes" || field.startsWith("changes.")) return "field";
        return CORRECTED_NAMES.has(field.split(".")[0]) && field !== "reason" ? "value" : field;
      },
      onInput: () => correctionChoices(false),
      path: "/corrections",
      body: (v) => ({ corrects_version: v.event ? Number(v.event) : null, reason: v.reason, changes: v.field ? { [v.field]: v.value } : null }),
      done: () => {
        correctionShown = "";
      },
      doneText: (answer) =>
        answer.status === "requested"
          ? "Requested: a manager or admin must approve it before it applies; nothing has changed yet."
          : `Corrected (version ${answer.version}).`,
    },
    { available: () => correctable().length > 0 },
  );
  widen(form, "event");

  /** The fields of the entry chosen, and the value control for the field chosen, prefilled with its value now. */
  function correctionChoices(refreshEvents) {
    const events = correctable();
    if (refreshEvents) setChoices(form, "event", events.map((event) => [String(event.version), describe(event)]));
    const chosen = events.find((event) => String(event.version) === form.elements.namedItem("event").value);
    if (!chosen) return;
    const fields = CORRECTABLE[chosen.type];
    const fieldSelect = form.elements.namedItem("field");
    const before = fieldSelect.value;
    if (refreshEvents || fieldSelect.dataset.version !== String(chosen.version)) {
      setChoices(form, "field", Object.keys(fields).map((name) => [name, words(name)]), before);
      fieldSelect.dataset.version = String(chosen.version);
    }
    const field = fieldSelect.value;
    const shown = `${chosen.version}:${field}`;
    if (shown === correctionShown) return; // keep what is typed while the same field of the same entry is chosen
    correctionShown = shown;
    form.querySelector(".correction-value").setKind(fields[field], currentValue(chosen, field));
  }

  return { refresh: () => correctionChoices(true) };
}

/** A correction request in words: the entry, the changes, who asked and why. */
function requestWords(request) {
  const changes = Object.entries(request.changes || {})
    .map(([field, value]) => `${words(field)} → ${field === "value" ? money(value) : Array.isArray(value) ? value.map((x) => x.name || x).join(", ") : value}`)
    .join(", ");
  const type = String(request.corrected_type || "").replace(/^.*\./, ""); // a topic: "ledger:ClientRelationship.ContractSigned"
  return `${TYPE_WORDS[type] || words(type)} (version ${request.corrects_version}): ${changes}, asked by ${request.requester_id}: “${request.reason}”`;
}

/** A manager's or admin's "Approve or reject a correction request", added to `panel`; `refresh()` after every read. */
export function decisionForm({ add, state }) {
  const form = add(
    "decide",
    "Approve or reject a correction request",
    {
      submitLabel: "Decide",
      fields: [
        { name: "request", label: "Request", kind: "select", choices: [], required: true },
        { name: "decision", label: "Decision", kind: "select", choices: [["approve", "approve: apply it now"], ["reject", "reject: change nothing"]], value: "approve" },
        { name: "reason", label: "Reason", hint: "Needed to reject." },
      ],
      path: (v) => `/correction-requests/${v.request}/${v.decision === "reject" ? "rejection" : "approval"}`,
      body: (v) => ({ reason: v.reason }),
      doneText: (answer, v) => `${v.decision === "reject" ? "Rejected" : "Approved and applied"} (version ${answer.version}).`,
    },
    { available: () => state.requests.length > 0, group: "manage" },
  );
  widen(form, "request");

  return {
    refresh() {
      setChoices(form, "request", state.requests.map((request) => [request.request_id, requestWords(request)]));
    },
  };
}
