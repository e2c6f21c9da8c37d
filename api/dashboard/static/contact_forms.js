// The relationship page's forms for the day's contacts: log a contact, introduce a product (mounted by
// relationship_forms.js, which sends each with the version on screen and redraws the page after the answer).

import { suggestProducts } from "./form_helpers.js";
import { localNow } from "./forms.js";
import { dateText } from "./ui.js";

export const CHANNELS = ["call", "email", "meeting", "visit", "other"];
export const OUTCOMES = ["interested", "pending", "declined"];

/** "Log a contact" and "Introduce a product", added to `panel`; `refresh()` after every read. */
export function contactForms({ add, state }) {
  const contactForm = add("contact", "Log a contact", {
    submitLabel: "Log contact",
    fields: [
      { name: "occurred_at", label: "When (your local time)", kind: "datetime", value: localNow(), required: true },
      { name: "channel", label: "Channel", kind: "select", choices: CHANNELS, value: "call" },
      { name: "summary", label: "Summary", kind: "textarea", required: true },
      { name: "next_follow_up_on", label: "Next follow-up (optional)", kind: "date" },
    ],
    path: "/contacts",
    doneText: (answer, v) => `Contact logged${v.next_follow_up_on ? `; follow up by ${dateText(v.next_follow_up_on)}` : ""} (version ${answer.version}).`,
  });

  const productForm = add("product", "Introduce a product", {
    submitLabel: "Record introduction",
    fields: [
      { name: "product", label: "Product", required: true, suggestions: [] },
      { name: "occurred_at", label: "When (your local time)", kind: "datetime", value: localNow(), required: true },
      { name: "outcome", label: "Outcome", kind: "select", choices: OUTCOMES, value: "interested" },
    ],
    path: "/product-introductions",
    doneText: (answer, v) => `${v.product}: ${v.outcome} (version ${answer.version}).`,
  });

  return {
    refresh() {
      suggestProducts(productForm, state.relationship);
      for (const form of [contactForm, productForm]) {
        // "Now" as a default stays now: a control the viewer has not touched follows its default.
        const when = form.elements.namedItem("occurred_at");
        if (when) when.defaultValue = localNow();
      }
    },
  };
}
