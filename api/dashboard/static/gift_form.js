// The relationship page's gift and entertainment forms (mounted by relationship_forms.js). While a gift is typed,
// the recipient's headroom under the yearly limit is shown with what this gift would count; when the API answers
// that a new recipient looks like someone already given to, the giver chooses "the same person" or "someone else"
// and the gift is sent again with that choice.

import { ApiError, get } from "./api.js";
import { compact, fold, showField, widen } from "./form_helpers.js";
import { localToday } from "./forms.js";
import { peopleField } from "./people_field.js";
import { h, money, problem } from "./ui.js";

const GIFT_CATEGORIES = [
  ["general", "general (counted)"],
  ["ticket", "ticket to an event (counted)"],
  ["personal", "personal (not counted)"],
  ["bereavement", "bereavement (not counted)"],
  ["promotional", "promotional item (not counted)"],
  ["de_minimis", "de minimis item (not counted)"],
  ["commemorative", "commemorative item (not counted)"],
  ["disaster_donation", "disaster donation (not counted)"],
  ["retail_customer", "to a retail customer (not counted)"],
];
const COUNTED = new Set(["general", "ticket"]);

/** "1250.5" → 125050 cents, exactly (money stays text until then); null when it is not money. */
function cents(text) {
  const match = /^\s*(\d{1,13})(?:\.(\d{1,2}))?\s*$/.exec(String(text ?? ""));
  return match ? Number(match[1]) * 100 + Number((match[2] || "").padEnd(2, "0")) : null;
}

function fromCents(amount) {
  return (amount / 100).toFixed(2);
}

/** What the gift would count for each person, in cents (domain/gift_rule.py), or null while the cost is unclear. */
function countedCents(v) {
  if (!COUNTED.has(v.category)) return 0;
  const cost = cents(v.cost);
  if (cost === null) return null;
  const other = v.category === "general" ? cents(v.market_value) : v.representative_attended ? null : cents(v.face_value);
  const value = Math.max(cost, other ?? 0);
  const people = 1 + v.shared_with.length;
  return Math.floor((2 * value + people) / (2 * people)); // half-up to cents
}

/** "Record a gift" and "Record entertainment", added to `panel`. */
export function giftForms({ add }) {
  const identities = new Map(); // "name\0employer" → {recipient_id} or {distinct_from}, as the giver chose
  const personKey = (name, employer) => `${fold(name)}\u0000${fold(employer)}`;
  const person = (name, employer) => compact({ name, employer, ...(identities.get(personKey(name, employer)) || {}) });
  const headroom = h("div", { id: "rf-gift-headroom", class: "headroom wide hint", "aria-live": "polite" });
  const lookAlikes = h("div", { id: "rf-gift-candidates", class: "wide" });
  let headroomTicket = 0;
  let headroomTimer = null;

  const giftForm = add("gift", "Record a gift", {
    submitLabel: "Record gift",
    fields: [
      { name: "recipient.name", label: "Recipient's name", required: true },
      { name: "recipient.employer", label: "Recipient's employer", required: true },
      { name: "given_on", label: "Given on", kind: "date", value: localToday(), required: true },
      { name: "description", label: "Description", required: true },
      { name: "category", label: "Category", kind: "select", choices: GIFT_CATEGORIES, value: "general" },
      { name: "cost", label: "Cost (USD)", kind: "money", required: true, placeholder: "120.00" },
      { name: "market_value", label: "Market value, if higher (USD)", kind: "money" },
      { name: "face_value", label: "Face value, if higher (USD)", kind: "money" },
      { name: "representative_attended", label: "A representative of the firm attended the event", kind: "checkbox" },
      peopleField({ name: "shared_with", label: "Shared with (everyone else who receives it)", columns: "recipients", hint: "Each person is held to their own limit." }),
    ],
    path: "/gifts",
    body: (v) => ({
      recipient: person(v["recipient.name"], v["recipient.employer"]),
      shared_with: v.shared_with.map((p) => person(p.name, p.employer)),
      description: v.description,
      given_on: v.given_on,
      category: v.category,
      cost: v.cost,
      market_value: v.category === "general" ? v.market_value : null,
      face_value: v.category === "ticket" ? v.face_value : null,
      representative_attended: v.category === "ticket" ? v.representative_attended : null,
    }),
    onInput: (v) => {
      giftFieldsFor(v.category);
      lookAlikes.replaceChildren();
      clearTimeout(headroomTimer);
      headroomTimer = setTimeout(() => showHeadroom(v), 250);
    },
    failed: (error) => offerLookAlikes(error),
    done: () => {
      identities.clear();
      lookAlikes.replaceChildren();
      headroom.replaceChildren();
      giftForm.querySelector('[data-field="shared_with"] .people-list').people.clear();
      giftFieldsFor("general");
    },
    doneText: (answer, v) => {
      const others = v.shared_with.length ? ` each, shared by ${v.shared_with.length + 1} people` : "";
      return `Gift recorded: it counts ${money(answer.counted_value)}${others} toward ${v["recipient.name"]}'s limit (version ${answer.version}).`;
    },
  });
  widen(giftForm, "shared_with");
  giftForm.querySelector('[data-field="given_on"]').after(headroom);
  giftForm.querySelector(".actions").before(lookAlikes);

  function giftFieldsFor(category) {
    showField(giftForm, "market_value", category === "general");
    showField(giftForm, "face_value", category === "ticket");
    showField(giftForm, "representative_attended", category === "ticket");
  }
  giftFieldsFor("general");

  /** GET /v1/compliance/headroom for the recipient and date typed: the limit, what is counted, what is left. */
  async function showHeadroom(v) {
    const ticket = ++headroomTicket;
    const name = v["recipient.name"];
    const employer = v["recipient.employer"];
    if (!name || !employer || !v.given_on) {
      headroom.replaceChildren();
      return;
    }
    let answer;
    try {
      answer = await get("/compliance/headroom", { params: { name, employer, given_on: v.given_on } });
    } catch {
      if (ticket === headroomTicket) headroom.replaceChildren(); // not offered by this ledger, or not to this role
      return;
    }
    if (ticket !== headroomTicket) return;
    const counted = countedCents(v);
    const left = cents(answer.headroom);
    const over = counted !== null && left !== null && counted > left;
    headroom.replaceChildren(
      h(
        "p",
        { class: over ? "warning" : "" },
        h("strong", {}, `Headroom ${money(answer.headroom)}`),
        ` of the ${money(answer.limit)} limit for ${answer.name || name} (${answer.employer || employer}) in ${answer.limit_year}: ${money(answer.counted)} counted so far`,
        answer.recipient_id ? "." : " (no gifts recorded to them yet).",
        counted !== null ? ` This gift would count ${money(fromCents(counted))}${over ? ", more than the headroom: it would be refused." : "."}` : "",
      ),
    );
  }

  /** A `likely_same_recipient` answer: the look-alikes, and the choice "this is the same person" or "someone else". */
  function offerLookAlikes(error) {
    lookAlikes.replaceChildren();
    if (!(error instanceof ApiError) || error.code !== "likely_same_recipient") return;
    const candidates = error.body.candidates || [];
    const v = { name: giftForm.elements.namedItem("recipient.name").value.trim(), employer: giftForm.elements.namedItem("recipient.employer").value.trim() };
    const named = [v, ...giftForm.querySelector('[data-field="shared_with"] .people-list').people.read()];
    const who = named.find((p) => (error.detail || "").startsWith(`${p.name} (${p.employer})`)) || v;
    const choose = (identity) => {
      identities.set(personKey(who.name, who.employer), identity);
      lookAlikes.replaceChildren();
      giftForm.requestSubmit();
    };
    const buttons = candidates.map((candidate) =>
      h(
        "button",
        { type: "button", class: "candidate", dataset: { recipientId: candidate.recipient_id }, onclick: () => choose({ recipient_id: candidate.recipient_id }) },
        `The same person as ${candidate.name} (${candidate.employer}), ${candidate.similarity} % alike`,
      ),
    );
    const someoneElse = h(
      "button",
      { type: "button", class: "someone-else", onclick: () => choose({ distinct_from: candidates.map((c) => c.recipient_id) }) },
      `Someone else: record ${who.name} as a new person`,
    );
    // The API's detail speaks to programs (recipient_id, distinct_from); a person is told what to choose.
    giftForm.querySelector(".form-problem")?.replaceChildren(
      problem({ ...error, detail: `${who.name} (${who.employer}) is new to the ledger but looks like someone the firm has given gifts to. Say which below.` }),
    );
    lookAlikes.replaceChildren(
      h(
        "div",
        { class: "look-alikes", role: "group", "aria-labelledby": "rf-gift-candidates-question" },
        h("p", { id: "rf-gift-candidates-question" }, h("strong", {}, `Is ${who.name} (${who.employer}) someone the firm already gives to?`)),
        h("p", { class: "hint" }, "Gifts to one person count together toward their limit. Your choice is recorded with the gift."),
        h("div", { class: "controls" }, buttons, someoneElse),
      ),
    );
    (buttons[0] || someoneElse).focus();
  }

  add("entertainment", "Record entertainment", {
    submitLabel: "Record entertainment",
    fields: [
      { name: "occurred_on", label: "On", kind: "date", value: localToday(), required: true },
      { name: "description", label: "Description", required: true },
      { name: "cost", label: "Cost (USD)", kind: "money", required: true },
      { name: "attendees", label: "Attendees", kind: "textarea", required: true, hint: "One name per line." },
      { name: "representative_attended", label: "A representative of the firm attended", kind: "checkbox", value: true },
    ],
    path: "/entertainment",
    body: (v) => ({
      ...v,
      attendees: (v.attendees || "")
        .split("\n")
        .map((line) => line.trim())
        .filter(Boolean),
    }),
    doneText: (answer, v) => `Entertainment recorded: ${v.description}, ${money(v.cost)} (version ${answer.version}).`,
  });

  return { refresh() {} };
}
