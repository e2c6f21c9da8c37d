// The relationship page's demo forms: schedule, reschedule, complete and cancel a demo (mounted by
// relationship_forms.js). While a demo is being scheduled or moved, staff already booked within an hour on another
// demo are named under the form: the demos of every relationship the viewer can read, read once when a demo form is
// first opened, which also suggest the staff already sent.

import { all, get } from "./api.js";
import { fold, setChoices, suggestProducts, widen } from "./form_helpers.js";
import { peopleField } from "./people_field.js";
import { h, localTime } from "./ui.js";

const HOUR_MS = 60 * 60 * 1000;

/** The four demo forms, added to `panel`; `refresh()` after every read. */
export function demoForms({ add, actions, state, suggestions }) {
  const id = state.relationship.id;
  let booked = null; // the other relationships the viewer can read, with their demos
  let loading = null;

  const demoWarning = h("div", { id: "rf-demo-warning", class: "warning wide", role: "status", "aria-live": "polite" });
  const demoForm = add("demo", "Schedule a demo", {
    submitLabel: "Schedule demo",
    fields: [
      { name: "product", label: "Product", required: true, suggestions: [] },
      { name: "scheduled_for", label: "When (your local time)", kind: "datetime", required: true },
      { name: "location", label: "Location", required: true },
      peopleField({ name: "staff", label: "Staff sent", columns: "staff", hint: "People already sent on demos are suggested; anyone else can be typed.", suggestions }),
    ],
    path: "/demos",
    onInput: (v) => warnOfBookings(demoWarning, v.scheduled_for, v.staff.map((p) => p.name), null),
    done: () => {
      demoForm.querySelector('[data-field="staff"] .people-list').people.clear();
      demoWarning.replaceChildren();
    },
    doneText: (answer, v) => `Demo of ${v.product} scheduled for ${localTime(v.scheduled_for)} (version ${answer.version}).`,
  });
  widen(demoForm, "staff");
  demoForm.querySelector('[data-field="staff"]').after(demoWarning);

  const scheduledDemos = () =>
    Object.entries(state.relationship.demos || {})
      .filter(([, demo]) => demo.status === "scheduled")
      .sort(([, a], [, b]) => Date.parse(a.scheduled_for) - Date.parse(b.scheduled_for));
  const demoChoices = () => scheduledDemos().map(([demoId, demo]) => [demoId, `${demo.product}, ${localTime(demo.scheduled_for)} at ${demo.location}`]);

  /** A command on one scheduled demo, chosen by what it is: the demo, and one more field sent as the body. */
  const onDemo = (key, label, field, step, spec) =>
    add(
      key,
      label,
      {
        ...spec,
        fields: [{ name: "demo", label: "Demo", kind: "select", choices: [], required: true }, field],
        path: (v) => `/demos/${v.demo}/${step}`,
        body: (v) => ({ [field.name]: v[field.name] }),
      },
      { available: () => scheduledDemos().length > 0 },
    );

  const rescheduleWarning = h("div", { id: "rf-reschedule-warning", class: "warning wide", role: "status", "aria-live": "polite" });
  const rescheduleForm = onDemo("reschedule", "Reschedule a demo", { name: "scheduled_for", label: "New time (your local time)", kind: "datetime", required: true }, "reschedule", {
    submitLabel: "Reschedule",
    onInput: (v) => {
      const demo = (state.relationship.demos || {})[v.demo];
      warnOfBookings(rescheduleWarning, v.scheduled_for, demo ? demo.staff.map((p) => p.name) : [], v.demo);
    },
    done: () => rescheduleWarning.replaceChildren(),
    doneText: (answer, v) => `Demo moved to ${localTime(v.scheduled_for)} (version ${answer.version}).`,
  });
  rescheduleForm.querySelector('[data-field="scheduled_for"]').after(rescheduleWarning);

  const completeForm = onDemo("complete", "Complete a demo", { name: "outcome", label: "Outcome", kind: "textarea", required: true }, "completion", {
    submitLabel: "Record completion",
    doneText: (answer) => `Demo completed (version ${answer.version}).`,
  });

  const cancelForm = onDemo("cancel", "Cancel a demo", { name: "reason", label: "Reason", required: true }, "cancellation", {
    submitLabel: "Cancel demo",
    doneText: (answer) => `Demo cancelled (version ${answer.version}).`,
  });

  // -- demo bookings: the staff already sent, and who is booked when --

  /** Every relationship the viewer can read, with its demos (read once, when a demo form is first opened). */
  function loadBookings() {
    if (loading) return loading;
    loading = (async () => {
      const listed = (await all("/relationships")).filter((item) => item.id !== id);
      const read = [];
      for (let start = 0; start < listed.length; start += 8) {
        const batch = listed.slice(start, start + 8).map((item) => get(`/relationships/${item.id}`).catch(() => null));
        read.push(...(await Promise.all(batch)));
      }
      booked = read.filter(Boolean);
      suggestions.learn(everyRelationship());
      for (const form of [demoForm, rescheduleForm]) form.dispatchEvent(new Event("input", { bubbles: true }));
    })().catch(() => {
      loading = null; // suggestions and warnings are a help: the forms work without them
    });
    return loading;
  }

  const everyRelationship = () => [state.relationship, ...(booked || [])];

  /** Demos other than `exceptDemoId`, still scheduled within an hour of `when`, that send any of `names`. */
  function bookings(when, names, exceptDemoId) {
    const at = Date.parse(when || "");
    const wanted = new Set(names.map(fold).filter(Boolean));
    if (Number.isNaN(at) || !wanted.size) return [];
    const found = [];
    for (const relationship of everyRelationship()) {
      for (const [demoId, demo] of Object.entries(relationship.demos || {})) {
        if (demo.status !== "scheduled" || demoId === exceptDemoId) continue;
        const gap = Math.abs(Date.parse(demo.scheduled_for) - at);
        if (!(gap <= HOUR_MS)) continue;
        for (const member of demo.staff || []) {
          if (wanted.has(fold(member.name))) found.push({ member, demo, relationship, minutes: Math.round(gap / 60_000) });
        }
      }
    }
    return found;
  }

  function warnOfBookings(place, when, names, exceptDemoId) {
    const found = bookings(when, names, exceptDemoId);
    if (!found.length) {
      place.replaceChildren();
      return;
    }
    place.replaceChildren(
      h("strong", {}, "Already booked within an hour:"),
      h(
        "ul",
        {},
        found.map(({ member, demo, relationship, minutes }) =>
          h(
            "li",
            { dataset: { staff: member.name } },
            `${member.name} is on the ${demo.product} demo for ${relationship.client_name} at ${localTime(demo.scheduled_for)} (${minutes === 0 ? "the same time" : `${minutes} minutes apart`}).`,
          ),
        ),
      ),
    );
  }

  for (const key of ["demo", "reschedule"]) {
    actions.get(key).details.addEventListener("toggle", (event) => {
      if (event.target.open) loadBookings();
    });
  }

  return {
    refresh() {
      suggestProducts(demoForm, state.relationship);
      for (const form of [rescheduleForm, completeForm, cancelForm]) setChoices(form, "demo", demoChoices());
      suggestions.learn(everyRelationship());
    },
  };
}
