// Command forms: each sends one command to the public API and shows what the API said, next to the field it names.
//
// A form is built from data: its fields (label, kind, choices), how the values become the request (method, path,
// JSON body, the version on screen for If-Match), and what to do with the answer (update the page, no reload).
// One Idempotency-Key is made per submit and kept if that same submit is sent again after a network failure, so
// a double click or a retry stores once. The submit button is disabled while the request is in flight.

import { ApiError, newKey, send } from "./api.js";
import { h, problem } from "./ui.js";

let formCount = 0;

/** Today's date in the viewer's time zone, as YYYY-MM-DD. */
export function localToday() {
  const now = new Date();
  return new Date(now.getTime() - now.getTimezoneOffset() * 60_000).toISOString().slice(0, 10);
}

/** A `datetime-local` value ("2026-05-01T09:30") as RFC 3339 with the viewer's offset at that moment. */
export function withOffset(local) {
  if (!local) return local;
  const when = new Date(local);
  if (Number.isNaN(when.getTime())) return local;
  const minutes = -when.getTimezoneOffset();
  const sign = minutes >= 0 ? "+" : "-";
  const pad = (n) => String(Math.floor(Math.abs(n))).padStart(2, "0");
  const seconds = local.length === 16 ? ":00" : "";
  return `${local}${seconds}${sign}${pad(minutes / 60)}:${pad(minutes % 60)}`;
}

/** Now, as a `datetime-local` value in the viewer's time zone. */
export function localNow() {
  const now = new Date();
  return new Date(now.getTime() - now.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

function control(id, field) {
  // A control the form cannot describe with a kind (a list of people, a value whose type changes): built by the
  // field's own `control(id, field)` and read by its `read(element)`.
  if (field.kind === "custom") return field.control(id, field);
  const common = {
    id,
    name: field.name,
    required: field.required ?? false,
    "aria-describedby": `${id}-problem${field.hint ? ` ${id}-hint` : ""}`,
  };
  if (field.kind === "select") {
    return h(
      "select",
      common,
      (field.choices || []).map((choice) => {
        const [value, label] = Array.isArray(choice) ? choice : [choice, String(choice).replaceAll("_", " ")];
        return h("option", { value, selected: value === field.value }, label);
      }),
    );
  }
  if (field.kind === "textarea") return h("textarea", { ...common, rows: 3 }, field.value ?? "");
  if (field.kind === "checkbox") return h("input", { ...common, type: "checkbox", checked: Boolean(field.value), required: false });
  const types = { date: "date", datetime: "datetime-local", number: "number", money: "text", email: "email", text: "text" };
  return h("input", {
    ...common,
    type: types[field.kind || "text"] || "text",
    value: field.value ?? "",
    inputmode: field.kind === "money" ? "decimal" : undefined,
    pattern: field.kind === "money" ? "[0-9]+(\\.[0-9]{1,2})?" : undefined,
    placeholder: field.placeholder,
    list: field.suggestions ? `${id}-suggestions` : undefined,
    min: field.min,
    max: field.max,
    autocomplete: "off",
  });
}

function valueOf(element, field) {
  if (field.kind === "custom") return field.read(element);
  if (field.kind === "checkbox") return element.checked;
  const value = element.value.trim();
  if (value === "") return null;
  if (field.kind === "number") return Number(value);
  if (field.kind === "datetime") return withOffset(value);
  return value;
}

/**
 * A command form. `spec`: {id, legend, fields: [{name, label, kind, choices, value, required, hint, suggestions}],
 * submitLabel, request(values) → {method, path, body, version, idempotent}, done(answer, values), intro, onInput(values, form)}.
 * `idempotent: false` sends no Idempotency-Key (POST /v1/tokens refuses one: its answer holds a secret).
 * Problems the API names by field ("cost", "recipient.name") are shown next to that field; the rest above the
 * button. Optional: `fieldOf(apiField)` → the form's field for an API field spelled otherwise, `failed(error, form)`
 * after a problem is shown, and fields of kind "custom" with `control(id, field)` → element and `read(element)`;
 * `check(values)` → [{field, message}] for what must be chosen first (shown like the API's problems; nothing sent).
 */
export function commandForm(spec) {
  formCount += 1;
  const prefix = spec.id || `form-${formCount}`;
  const controls = new Map();
  const problems = new Map();
  const rows = spec.fields.map((field) => {
    const id = `${prefix}-${field.name.replaceAll(".", "-")}`;
    const element = control(id, field);
    const fieldProblem = h("div", { id: `${id}-problem`, class: "field-problem", "aria-live": "polite" });
    controls.set(field.name, { element, field });
    problems.set(field.name, fieldProblem);
    return h(
      "div",
      { class: `field ${field.kind === "checkbox" ? "check" : ""}`, dataset: { field: field.name } },
      h("label", { for: id }, field.label),
      element,
      field.hint ? h("small", { id: `${id}-hint`, class: "hint" }, field.hint) : null,
      field.suggestions ? h("datalist", { id: `${id}-suggestions` }, field.suggestions.map((s) => h("option", { value: s }))) : null,
      fieldProblem,
    );
  });
  const general = h("div", { class: "form-problem", "aria-live": "polite" });
  const outcome = h("div", { class: "form-outcome", role: "status" });
  const button = h("button", { class: "primary", type: "submit" }, spec.submitLabel || "Save");
  let pending = null; // {key, body}: a submit that got no definite answer is sent again under the same key

  function values() {
    const out = {};
    for (const [name, { element, field }] of controls) out[name] = valueOf(element, field);
    return out;
  }

  function clearProblems() {
    general.replaceChildren();
    for (const [name, place] of problems) {
      place.replaceChildren();
      controls.get(name).element.removeAttribute("aria-invalid");
    }
  }

  function show(error) {
    const unplaced = [];
    for (const item of error.errors || []) {
      // `spec.fieldOf(apiField)` names the form's field for an API field the form spells otherwise.
      const named = (spec.fieldOf && spec.fieldOf(item.field)) || item.field;
      const name = [...problems.keys()].find((known) => named === known || named.startsWith(`${known}.`));
      if (name) {
        problems.get(name).append(h("span", {}, item.message));
        controls.get(name).element.setAttribute("aria-invalid", "true");
      } else unplaced.push(item);
    }
    general.replaceChildren(problem(error));
    const first = [...controls.values()].find(({ element }) => element.getAttribute("aria-invalid") === "true");
    if (first) {
      const focusable = first.element.matches("input, select, textarea, button") ? first.element : first.element.querySelector("input, select, textarea, button");
      (focusable || first.element).focus();
    }
    return unplaced;
  }

  const form = h(
    "form",
    {
      id: prefix,
      class: "command-form",
      novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        if (button.disabled) return;
        clearProblems();
        outcome.replaceChildren();
        const given = values();
        // spec.check(values) → [{field, message}]: what must be chosen before anything can be sent (nothing is sent).
        const unready = spec.check ? spec.check(given) || [] : [];
        if (unready.length) {
          show(new ApiError({ title: "Complete the form first", detail: unready.map((item) => item.message).join(" "), code: "incomplete", errors: unready }));
          return;
        }
        const request = spec.request(given);
        const body = JSON.stringify(request.body);
        const key = pending && pending.body === body && pending.path === request.path ? pending.key : newKey();
        pending = { key, body, path: request.path };
        button.disabled = true;
        form.setAttribute("aria-busy", "true");
        try {
          const answer = await send(request.method, request.path, request.body, { version: request.version, idempotencyKey: request.idempotent === false ? false : key });
          pending = null;
          outcome.replaceChildren(h("span", {}, spec.doneText ? spec.doneText(answer, given) : "Saved."));
          if (spec.reset !== false) form.reset();
          await spec.done?.(answer, given);
        } catch (error) {
          if (!(error instanceof ApiError)) throw error;
          if (error.status !== 0 && error.code !== "unavailable") pending = null;
          show(error);
          spec.failed?.(error, form);
        } finally {
          button.disabled = false;
          form.removeAttribute("aria-busy");
        }
      },
      oninput: () => spec.onInput?.(values(), form),
    },
    h("fieldset", {}, h("legend", {}, spec.legend), spec.intro || null, rows, general, h("div", { class: "actions" }, button), outcome),
  );
  return form;
}

/** A disclosure holding a form, so a page lists what can be done without showing every form at once. */
export function action(label, form, { open = false } = {}) {
  return h("details", { class: "action", open }, h("summary", {}, label), form);
}
