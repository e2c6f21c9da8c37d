// The relationship page's forms: what an account manager records on a relationship assigned to them (contacts,
// products, demos, contracts, gifts, entertainment, corrections) and what a manager or admin decides on any
// relationship (assignment, tier, cadence, closing and reopening, correction requests).
//
// Each form sends one command to the public API with the version on screen as If-Match (forms.js keeps one
// Idempotency-Key per submit), then has the page drawn again around it from a fresh read: the relationship, its
// events and the forms' choices (demos, contracts, events, requests) all come from that read, so the next command
// carries the new version. Nobody types an id: demos, contracts, events, managers and look-alike recipients are
// chosen by what they are called.
//
// This module mounts the panel and redraws the page around it; the forms themselves are in contact_forms.js,
// demo_forms.js, contract_forms.js, gift_form.js, correction_forms.js and manager_forms.js. Each of those is
// given the panel (`add` a form, the `state` read last, the signed-in `me`) and returns `refresh()`, which sets
// its forms' choices from a new read.

import { ApiError, all, session } from "./api.js";
import { contactForms } from "./contact_forms.js";
import { contractForms } from "./contract_forms.js";
import { correctionForm, decisionForm } from "./correction_forms.js";
import { demoForms } from "./demo_forms.js";
import { compact } from "./form_helpers.js";
import { action, commandForm } from "./forms.js";
import { giftForms } from "./gift_form.js";
import { managerForms } from "./manager_forms.js";
import { staffSuggestions } from "./people_field.js";
import { h, problem } from "./ui.js";

const WRITERS = ["account_manager", "manager", "admin"];
const DECIDERS = ["manager", "admin"];

let mounted = null; // {id, section, update}: the forms on screen, kept across the page's redraws

/**
 * The forms for the relationship on screen (`relationship`, its `events`), for the signed-in role. `render()`
 * draws the whole page again; the section it returns is kept (same element, open forms and focus intact) and
 * only its choices are refreshed from the new read. `handedOver`: the relationship is shown to its former account
 * manager as they handed it over (it names them as its manager, but they may no longer write on it).
 */
export async function relationshipForms({ relationship, events, render, handedOver = false }) {
  if (mounted && mounted.id === relationship.id && mounted.section.isConnected && !handedOver) {
    await mounted.update(relationship, events);
    return mounted.section;
  }
  const me = session.me || {};
  const records = !handedOver && WRITERS.includes(me.role) && (me.role !== "account_manager" || relationship.account_manager_id === me.account_manager_id);
  if (!records) {
    mounted = null;
    return h("section", { id: "relationship-forms", hidden: true });
  }
  const built = buildForms({ me, relationship, events, render });
  await built.update(relationship, events);
  mounted = { id: relationship.id, section: built.section, update: built.update };
  return built.section;
}

function buildForms({ me, relationship, events, render }) {
  const decides = DECIDERS.includes(me.role);
  const state = { relationship, events, requests: [], managers: [] };
  const id = relationship.id;
  const status = h("p", { id: "relationship-forms-status", role: "status", class: "form-outcome" });
  const closedNote = h("p", { class: "hint", id: "relationship-closed-note" });
  const actions = new Map(); // key → {details, form, available()}

  // -- redrawing the page around the forms --

  async function redraw() {
    const host = section.parentNode;
    if (!host) return;
    const focused = document.activeElement;
    let nodes;
    try {
      nodes = [await render()].flat(Infinity).filter((node) => node !== null && node !== undefined && node !== false);
    } catch (error) {
      status.replaceChildren(problem(error, "Stored, but the page could not be read again"));
      return;
    }
    if (!section.isConnected || section.parentNode !== host) return; // the viewer has moved on
    nodes = nodes.map((node) => (node instanceof Node ? node : document.createTextNode(String(node))));
    const at = nodes.indexOf(section);
    if (at < 0) {
      host.replaceChildren(...nodes);
      return;
    }
    for (const child of [...host.childNodes]) if (child !== section) child.remove();
    for (const node of nodes.slice(0, at)) host.insertBefore(node, section);
    for (const node of nodes.slice(at + 1)) host.append(node);
    if (focused && focused.isConnected && document.activeElement !== focused) focused.focus();
  }

  /**
   * A form in a disclosure, sending `method` (POST unless said) to `path` below the relationship (a string, or a
   * function of the values) with `body(values)` (the values unless said) and the version on screen; after an
   * answer the page is drawn again and the form's choices refreshed. The legend is the label unless said.
   */
  function add(key, label, { method = "POST", path, body = (v) => v, ...spec }, { available = () => true, group = "record" } = {}) {
    const form = commandForm({
      legend: label,
      ...spec,
      id: `rf-${key}`,
      request: (v) => ({
        method,
        path: `/relationships/${id}${typeof path === "function" ? path(v) : path}`,
        version: state.relationship.version,
        body: compact(body(v)),
      }),
      done: async (answer, values) => {
        await spec.done?.(answer, values);
        await redraw();
        // A form with nothing left to choose (the last demo cancelled) is hidden: its answer is said here instead.
        status.textContent = details.hidden ? form.querySelector(".form-outcome").textContent : "";
      },
      failed: (error, shown) => {
        spec.failed?.(error, shown);
        // Someone else wrote first: read the relationship again, so that submitting again sends the new version.
        if (error instanceof ApiError && error.code === "precondition_failed") redraw();
      },
    });
    const details = action(label, form);
    details.id = `rf-${key}-action`;
    details.dataset.action = key;
    details.dataset.group = group;
    actions.set(key, { details, form, available });
    return form;
  }

  // -- the forms, in the order they are listed --

  const panel = { me, decides, state, add, actions, suggestions: staffSuggestions() };
  const parts = [contactForms(panel), demoForms(panel), contractForms(panel), giftForms(panel), correctionForm(panel)];
  if (decides) parts.push(managerForms(panel), decisionForm(panel));

  // -- the section, and its refresh after every read --

  const recordList = h("div", { class: "actions-list", id: "relationship-record" });
  const manageList = h("div", { class: "actions-list", id: "relationship-manage" });
  for (const { details } of actions.values()) (details.dataset.group === "manage" ? manageList : recordList).append(details);
  const section = h(
    "section",
    { id: "relationship-forms", class: "panel relationship-forms", "aria-labelledby": "relationship-forms-title" },
    h("h2", { id: "relationship-forms-title" }, decides ? "Record and decide" : "Record"),
    closedNote,
    status,
    h("h3", { id: "relationship-record-title" }, "Record on this relationship"),
    recordList,
    decides ? [h("h3", { id: "relationship-manage-title" }, "Manage"), manageList] : null,
  );

  function refresh() {
    const open = state.relationship.status === "open";
    closedNote.textContent = open ? "" : decides ? "This relationship is closed: nothing can be recorded on it until it is reopened." : "This relationship is closed: nothing can be recorded on it until a manager reopens it.";
    for (const [key, { details, available }] of actions) {
      const shown = (open || key === "reopen") && available();
      details.hidden = !shown;
    }
    for (const part of parts) part.refresh();
    recordTitleShown();
    panel.suggestions.share();
  }

  function recordTitleShown() {
    const any = (list) => [...list.children].some((details) => !details.hidden);
    section.querySelector("#relationship-record-title").hidden = !any(recordList);
    const manageTitle = section.querySelector("#relationship-manage-title");
    if (manageTitle) manageTitle.hidden = !any(manageList);
  }

  async function update(fresh, freshEvents) {
    state.relationship = fresh;
    state.events = freshEvents;
    if (decides) {
      const [requests, managers] = await Promise.all([
        all(`/relationships/${id}/correction-requests`).catch(() => []),
        state.managers.length ? state.managers : all("/account-managers").catch(() => []),
      ]);
      state.requests = requests.filter((request) => request.status === "open");
      state.managers = managers;
    }
    refresh();
  }

  return { section, update };
}
