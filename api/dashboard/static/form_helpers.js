// Small helpers shared by the relationship page's command forms (relationship_forms.js and the modules it mounts):
// request bodies without empty values, a select's choices refreshed from a new read, fields shown or hidden.

import { h } from "./ui.js";

/** "client_kind" → "client kind". */
export const words = (value) => String(value ?? "").replaceAll("_", " ");

/** A name as compared: trimmed, single spaces, lower case ("Dana  Moss " and "dana moss" are the same). */
export const fold = (name) => String(name || "").trim().replace(/\s+/g, " ").toLocaleLowerCase();

/** A body without the values left empty (so the API says "Field required" next to a field, not "null"). */
export function compact(body) {
  const out = {};
  for (const [name, value] of Object.entries(body)) {
    if (value === null || value === undefined || value === "") continue;
    if (Array.isArray(value) && value.length === 0) continue;
    out[name] = value;
  }
  return out;
}

/** A select's options replaced by `choices` ([value, label]), keeping the choice when it is still there. */
export function setChoices(form, name, choices, preferred) {
  const select = form.elements.namedItem(name);
  if (!select) return;
  const keep = preferred ?? select.value;
  select.replaceChildren(...choices.map(([value, label]) => h("option", { value }, label)));
  const chosen = choices.some(([value]) => value === keep) ? keep : choices.length ? choices[0][0] : "";
  for (const option of select.options) option.defaultSelected = option.value === chosen;
  select.value = chosen;
}

/** Shows or hides one field of a form (its label, control and problem). */
export function showField(form, name, shown) {
  const row = form.querySelector(`[data-field="${name}"]`);
  if (!row) return;
  row.hidden = !shown;
  row.style.display = shown ? "" : "none"; // the stylesheet gives .field a display that would beat [hidden]
}

/** Lets one field of a form take the form's whole width. */
export function widen(form, name) {
  form.querySelector(`[data-field="${name}"]`)?.classList.add("wide");
}

/** The products already introduced to the relationship, suggested in a form's "Product" field. */
export function suggestProducts(form, relationship) {
  const products = Object.keys(relationship.products || {});
  form.querySelector('[data-field="product"] datalist')?.replaceChildren(...products.map((product) => h("option", { value: product })));
}
