// What an event did, in words, and who did it, by name: used by a relationship's timeline and the audit feed.
//
// An actor is a token's name (or, for a seeded history, "account_manager:<id>"): account managers are shown by
// their name from GET /v1/account-managers (an admin also learns which token stands for which manager from
// GET /v1/tokens); anyone else by their role and token name, as the API gives them.

import { all } from "./api.js";
import { dateText, h, money, time } from "./ui.js";

const ROLE_WORDS = { account_manager: "Account manager", manager: "Manager", compliance: "Compliance", auditor: "Auditor", admin: "Admin" };

export function roleWords(role) {
  return ROLE_WORDS[role] || String(role || "").replaceAll("_", " ");
}

/** Account managers by id → name; an empty map when they cannot be read (names are a nicety). */
export async function managerDirectory() {
  try {
    return new Map((await all("/account-managers")).map((m) => [m.id, m.name]));
  } catch {
    return new Map();
  }
}

/** For an admin: which account manager each token stands for (other roles may not list tokens). */
async function tokenManagers(me) {
  if (!me || me.role !== "admin") return new Map();
  try {
    return new Map((await all("/tokens")).filter((t) => t.account_manager_id).map((t) => [t.name, t.account_manager_id]));
  } catch {
    return new Map();
  }
}

/**
 * Who did what: `actors.label(actor_id, role)` is a readable name ("Ada Byron", "Manager · demo-manager-1a2b3c"),
 * `actors.cell(event)` the name with the role and token under it; `actors.names` the account managers by id.
 */
export async function actorDirectory(me, names) {
  const [managers, tokens] = await Promise.all([names ? Promise.resolve(names) : managerDirectory(), tokenManagers(me)]);
  const managerOf = (actorId) => {
    const seeded = /^account_manager:([0-9a-f-]{36})$/i.exec(actorId || "");
    if (seeded) return seeded[1];
    if (tokens.has(actorId)) return tokens.get(actorId);
    if (me && actorId === me.name && me.account_manager_id) return me.account_manager_id;
    return null;
  };
  function label(actorId, role) {
    const managerId = managerOf(actorId);
    const you = me && actorId === me.name;
    if (managerId && managers.has(managerId)) return `${managers.get(managerId)}${you ? " (you)" : ""}`;
    if (you) return "You";
    if (actorId === "system:ledger") return "The ledger itself";
    if (managerId) return "Another account manager";
    return `${roleWords(role)} · ${actorId}`;
  }
  function cell(event) {
    const shown = label(event.actor_id, event.actor_role);
    const managerId = managerOf(event.actor_id);
    const sub = [roleWords(event.actor_role)];
    if (!/^(account_manager|system|seed):/.test(event.actor_id) && !shown.endsWith(event.actor_id)) sub.push(`token ${event.actor_id}`);
    return h(
      "div",
      { class: "actor", dataset: { actorId: event.actor_id, managerId: managerId || undefined } },
      h("span", { class: "actor-name", title: event.actor_id }, shown),
      h("div", { class: "hint" }, sub.join(" · ")),
    );
  }
  return { label, cell, names: managers, managerOf };
}

const MONEY_FIELDS = new Set(["value", "cost", "market_value", "face_value", "counted_value", "amount"]);
const FIELD_WORDS = {
  occurred_at: "when",
  occurred_on: "date",
  next_follow_up_on: "follow up by",
  scheduled_for: "when",
  signed_on: "signed on",
  starts_on: "starts",
  ends_on: "ends",
  given_on: "given on",
  client_name: "client name",
  client_kind: "client kind",
};

/** A field's value in words: money, dates and times in the one format, staff and attendees by name. */
export function valueOf(field, value) {
  if (value === null || value === undefined || value === "") return "none";
  if (MONEY_FIELDS.has(field)) return money(value);
  if (Array.isArray(value)) return value.map((item) => (typeof item === "string" ? item : item.role ? `${item.name} (${item.role})` : item.name || JSON.stringify(item))).join(", ");
  if (typeof value === "object") return value.name || JSON.stringify(value);
  const text = String(value);
  if (/^\d{4}-\d\d-\d\d$/.test(text)) return time(text);
  if (/^\d{4}-\d\d-\d\dT/.test(text)) return time(text);
  if (typeof value === "string") return `“${text}”`;
  return text.replaceAll("_", " ");
}

function fieldWords(field) {
  return FIELD_WORDS[field] || field.replaceAll("_", " ");
}

/** "summary “old” → “new”; follow up by 3 Dec 2026 → 5 Dec 2026" as nodes. */
function changeList(changes) {
  return h(
    "ul",
    { class: "changes" },
    changes.map(({ field, old, now }) =>
      h(
        "li",
        { dataset: { field } },
        h("span", { class: "field-name" }, fieldWords(field)),
        " ",
        old === undefined ? null : [h("del", {}, valueOf(field, old)), " → "],
        h("ins", {}, valueOf(field, now)),
      ),
    ),
  );
}

function typeOfTopic(topic) {
  return String(topic || "").replace(/^ledger:[A-Za-z]+\./, "");
}

const TYPE_WORDS = {
  Opened: "the opening",
  ContactLogged: "the contact",
  ProductIntroduced: "the product introduction",
  DemoScheduled: "the demo",
  DemoCompleted: "the demo's completion",
  ContractProposed: "the contract proposal",
  ContractSigned: "the signing",
  GiftGiven: "the gift",
  EntertainmentProvided: "the entertainment",
};

/**
 * What a relationship's events say, worked out once from all of them (oldest first): each demo's product and
 * time as it stood at each event, each contract's title, the tier before a change, and for a correction (or a
 * request for one) the old and new value of each field it changes.
 */
export function storyOf(events) {
  const ordered = [...events].sort((a, b) => a.version - b.version);
  const values = new Map(); // version → the event's data as corrected so far
  const demos = new Map(); // demo_id → {product, scheduled_for, version}
  const contracts = new Map(); // contract_id → {title}
  const requests = new Map(); // request_id → {corrects_version, corrected_type}
  const at = new Map(); // version → what that row needs
  let tier = null;
  let cadence = null;
  let manager = null;
  for (const event of ordered) {
    const d = event.data || {};
    values.set(event.version, { ...d });
    const note = {};
    switch (event.type) {
      case "Opened":
        tier = d.tier;
        manager = d.account_manager_id;
        break;
      case "TierChanged":
        note.before = tier;
        tier = d.tier;
        break;
      case "ContactCadenceChanged":
        note.before = cadence;
        cadence = d.days;
        break;
      case "AccountManagerAssigned":
        note.before = d.previous_account_manager_id || manager;
        manager = d.account_manager_id;
        break;
      case "DemoScheduled":
        demos.set(d.demo_id, { product: d.product, scheduled_for: d.scheduled_for, version: event.version });
        break;
      case "DemoRescheduled":
      case "DemoCompleted":
      case "DemoCancelled": {
        const demo = demos.get(d.demo_id) || {};
        note.demo = { ...demo };
        if (event.type === "DemoRescheduled" && demos.has(d.demo_id)) demos.get(d.demo_id).scheduled_for = d.scheduled_for;
        break;
      }
      case "ContractProposed":
        contracts.set(d.contract_id, { title: d.title, value: d.value });
        break;
      case "ContractSigned":
      case "ContractTerminated":
        note.contract = { ...(contracts.get(d.contract_id) || {}) };
        break;
      case "EntryCorrected":
      case "CorrectionRequested": {
        const original = values.get(d.corrects_version) || {};
        note.changes = Object.entries(d.changes || {}).map(([field, now]) => ({ field, old: original[field], now }));
        note.corrected = typeOfTopic(d.corrected_type);
        if (event.type === "EntryCorrected") {
          Object.assign(original, d.changes || {});
          const target = ordered.find((e) => e.version === d.corrects_version);
          if (target && target.type === "DemoScheduled" && demos.has(target.data.demo_id)) Object.assign(demos.get(target.data.demo_id), d.changes || {});
          if (target && target.type === "ContractProposed" && contracts.has(target.data.contract_id)) Object.assign(contracts.get(target.data.contract_id), d.changes || {});
        } else {
          requests.set(d.request_id, { corrects_version: d.corrects_version, corrected: note.corrected });
        }
        break;
      }
      case "CorrectionApproved":
      case "CorrectionRejected":
        note.request = requests.get(d.request_id) || {};
        break;
      default:
        break;
    }
    at.set(event.version, note);
  }
  return { at, names: null };
}

function staffText(staff) {
  return (staff || []).map((p) => (typeof p === "string" ? p : `${p.name} (${p.role})`)).join(", ");
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/**
 * One event in words, as nodes: "Demo of Ledger Pro on 3 Dec 2026, 14:00 +01:00 with B. Adeyemi (technical)".
 * `story` comes from storyOf(events) (a relationship's whole history); `managerName(id)` names account managers.
 */
export function describe(event, story, managerName = () => null) {
  const d = event.data || {};
  const note = (story && story.at.get(event.version)) || {};
  const who = (id) => (id ? managerName(id) || "another account manager" : "nobody");
  const demoName = (demo) => `Demo of ${(demo && demo.product) || "a product"}`;
  const title = (contract) => (contract && contract.title ? `Contract ‘${contract.title}’` : "A contract");
  switch (event.type) {
    case "Opened":
      return [`Opened for ${d.client_name}: ${d.client_kind}, ${String(d.industry).replaceAll("_", " ")}, ${d.tier} tier, assigned to ${who(d.account_manager_id)}`];
    case "AccountManagerAssigned":
      return [`Reassigned from ${who(note.before)} to ${who(d.account_manager_id)}: ${d.reason}`];
    case "TierChanged":
      return [note.before ? `Tier changed from ${note.before} to ${d.tier}` : `Tier set to ${d.tier}`];
    case "ContactCadenceChanged":
      return [`Contact cadence set to every ${plural(d.days, "day")}${note.before ? ` (was every ${note.before})` : ""}`];
    case "ContactLogged":
      return [
        `${String(d.channel).replace(/^./, (c) => c.toUpperCase())} on `,
        time(d.occurred_at),
        `: “${d.summary}”`,
        d.next_follow_up_on ? [" · follow up by ", time(d.next_follow_up_on)] : null,
      ];
    case "ProductIntroduced":
      return [`Introduced ${d.product} on `, time(d.occurred_at), `: ${d.outcome}`];
    case "DemoScheduled":
      return [`${demoName(d)} on `, time(d.scheduled_for), ` at ${d.location} with ${staffText(d.staff)}`];
    case "DemoRescheduled":
      if (!note.demo || !note.demo.scheduled_for) return ["Demo moved to ", time(d.scheduled_for)];
      return [`${demoName(note.demo)} moved from `, time(note.demo.scheduled_for), " to ", time(d.scheduled_for)];
    case "DemoCompleted":
      if (!note.demo || !note.demo.scheduled_for) return [`Demo done: ${d.outcome}`];
      return [`${demoName(note.demo)} on `, time(note.demo.scheduled_for), ` done: ${d.outcome}`];
    case "DemoCancelled":
      if (!note.demo || !note.demo.scheduled_for) return [`Demo cancelled: ${d.reason}`];
      return [`${demoName(note.demo)} on `, time(note.demo.scheduled_for), ` cancelled: ${d.reason}`];
    case "ContractProposed":
      return [`${title(d)} proposed, ${money(d.value)}, `, time(d.starts_on), " to ", time(d.ends_on)];
    case "ContractSigned":
      return [`${title(note.contract)} signed on `, time(d.signed_on), `, ${money(d.value)}`];
    case "ContractTerminated":
      return [`${title(note.contract)} terminated on `, time(d.on), `: ${d.reason}`];
    case "GiftGiven": {
      const recipient = d.recipient || {};
      const shared = (d.shared_with || []).map((share) => (share.recipient || share).name).filter(Boolean);
      return [
        `Gift to ${recipient.name || "someone"}${recipient.employer ? ` (${recipient.employer})` : ""}: ${d.description}, given on `,
        time(d.given_on),
        `, ${String(d.category).replaceAll("_", " ")}, cost ${money(d.cost)}, counted ${money(d.counted_value)}`,
        shared.length ? `, shared with ${shared.join(", ")}` : "",
      ];
    }
    case "EntertainmentProvided":
      return [`Entertainment on `, time(d.occurred_on), `: ${d.description}, ${money(d.cost)}, with ${(d.attendees || []).join(", ")}${d.representative_attended ? " (representative attended)" : ""}`];
    case "EntryCorrected":
    case "CorrectionRequested": {
      const what = TYPE_WORDS[typeOfTopic(d.corrected_type)] || "the entry";
      const changes = note.changes || Object.entries(d.changes || {}).map(([field, now]) => ({ field, old: undefined, now }));
      return [
        event.type === "EntryCorrected" ? `Corrected ${what} of version ${d.corrects_version}: ${d.reason}` : `Asked for a correction of ${what} of version ${d.corrects_version}: ${d.reason}`,
        changes.length ? changeList(changes) : null,
      ];
    }
    case "CorrectionApproved":
      return [`Approved the correction of version ${note.request && note.request.corrects_version ? note.request.corrects_version : "?"}${d.reason ? `: ${d.reason}` : ""}`];
    case "CorrectionRejected":
      return [`Rejected the correction of version ${note.request && note.request.corrects_version ? note.request.corrects_version : "?"}: ${d.reason}`];
    case "Closed":
      return [`Closed: ${d.reason}`];
    case "Reopened":
      return [`Reopened: ${d.reason}`];
    default:
      return [describeOther(event)];
  }
}

/** Events of other aggregates (the audit feed): account managers, the gift policy, recipients. */
export function describeOther(event) {
  const d = event.data || {};
  switch (event.type) {
    case "Registered":
      return d.email ? `Registered ${d.name} (${d.email})` : `Registered ${d.name || "a recipient"}${d.employer ? ` (${d.employer})` : ""}`;
    case "QuotaSet":
      return `Quota for ${d.year} set to ${money(d.amount)}`;
    case "CompensationPlanSet":
      return `Pay plan for ${d.year}: base ${money(d.base_salary)}, commission ${d.commission_rate}, accelerator ${d.accelerator_rate}, bonus ${money(d.bonus_amount)} at ${d.bonus_threshold}`;
    case "CapacitySet":
      return `Capacity set to ${d.capacity}`;
    case "Deactivated":
      return `Deactivated: ${d.reason}`;
    case "GiftLimitScheduled":
      return `Gift limit ${money(d.amount)} from ${dateText(d.effective_from)}${d.reason ? `: ${d.reason}` : ""}`;
    case "LimitYearPolicyChanged":
      return `Limit year set to ${String(d.kind || "").replaceAll("_", " ")}${d.start_month ? ` from month ${d.start_month}` : ""}`;
    case "ReviewThresholdSet":
      return `Review threshold set to ${money(d.amount)}`;
    case "GiftReceived":
      return `Received a gift counted ${money(d.counted_value)}, given on ${dateText(d.given_on)}`;
    case "RecipientsMerged":
      return `Merged another recipient into this one: ${d.reason || ""}`;
    case "MergedInto":
      return "Merged into another recipient";
    case "RecipientIndexed": {
      const entry = d.entry || {};
      return `Indexed the recipient ${entry.name || "?"}${entry.employer ? ` (${entry.employer})` : ""}`;
    }
    case "Started":
      return `Started the recipient index with ${(d.entries || []).length} recipients`;
    case "Established":
      return "The gift policy was established";
    default: {
      const text = JSON.stringify(d);
      return text.length > 140 ? `${text.slice(0, 140)}…` : text;
    }
  }
}
