// A form control listing people, one row each (a demo's staff, the others who share a gift), and the staff names
// suggested in it: the people already sent on demos, each with the role they were last sent in.

import { fold } from "./form_helpers.js";
import { h } from "./ui.js";

const STAFF_ROLES = ["technical", "design", "support", "other"];

/**
 * A commandForm field listing people, with "Add a person" and "Remove": `columns` is "staff" (name and role, names
 * suggested from `suggestions`, a staffSuggestions()) or "recipients" (name and employer). The first row's name
 * takes the field's id, so the field's label names it.
 */
export function peopleField({ name, label, columns, hint, suggestions }) {
  return {
    name,
    label,
    hint,
    kind: "custom",
    control: (id) => peopleList(id, label, columns, suggestions),
    read: (element) => element.people.read(),
  };
}

/** The list itself: an element whose `people` reads, sets and clears the rows and takes the names to suggest. */
export function peopleList(id, label, columns, suggestions) {
  const rows = h("div", { class: "people" });
  const datalist = columns === "staff" ? h("datalist", { id: `${id}-known` }) : null;
  const list = h("div", { id: `${id}-list`, role: "group", "aria-label": label, class: "people-list" }, rows, datalist);
  const add = h("button", { type: "button", class: "add-person", onclick: () => addRow({}, true) }, "Add a person");
  list.append(add);

  function renumber() {
    [...rows.children].forEach((row, index) => {
      const n = index + 1;
      const [first, second, remove] = row.children;
      first.id = index === 0 ? id : `${id}-${n}`;
      first.setAttribute("aria-label", columns === "staff" ? `Name of person ${n}` : `Name of person ${n} sharing it`);
      second.setAttribute("aria-label", columns === "staff" ? `Role of person ${n}` : `Employer of person ${n} sharing it`);
      remove.setAttribute("aria-label", `Remove person ${n}`);
    });
  }

  function addRow(person, focus) {
    const nameInput = h("input", { type: "text", autocomplete: "off", value: person.name || "", placeholder: "Name", list: datalist ? datalist.id : undefined });
    const second =
      columns === "staff"
        ? h("select", {}, STAFF_ROLES.map((role) => h("option", { value: role, selected: role === (person.role || "technical") }, role)))
        : h("input", { type: "text", autocomplete: "off", value: person.employer || "", placeholder: "Employer" });
    if (columns === "staff") {
      // A known person comes with the role they were last sent in.
      nameInput.addEventListener("change", () => {
        const known = suggestions?.roleOf(nameInput.value);
        if (known) second.value = known;
      });
    }
    const row = h("div", { class: "person controls" }, nameInput, second, null);
    const remove = h(
      "button",
      {
        type: "button",
        onclick: () => {
          const next = row.nextElementSibling || row.previousElementSibling;
          row.remove();
          if (!rows.children.length) addRow({}, false);
          renumber();
          (next ? next.querySelector("input") : rows.querySelector("input"))?.focus();
          list.dispatchEvent(new Event("input", { bubbles: true }));
        },
      },
      "Remove",
    );
    row.append(remove);
    rows.append(row);
    renumber();
    if (focus) nameInput.focus();
    return row;
  }

  list.people = {
    read() {
      return [...rows.children]
        .map((row) => {
          const [first, second] = row.children;
          const person = { name: first.value.trim() };
          if (columns === "staff") person.role = second.value;
          else person.employer = second.value.trim();
          return person;
        })
        .filter((person) => person.name || (columns !== "staff" && person.employer));
    },
    set(people) {
      rows.replaceChildren();
      for (const person of people.length ? people : [{}]) addRow(person, false);
    },
    clear() {
      this.set(columns === "staff" ? [{}] : []);
    },
    known(names) {
      datalist?.replaceChildren(...names.map((known) => h("option", { value: known })));
    },
  };
  list.people.set(columns === "staff" ? [{}] : []);
  if (suggestions) suggestions.lists.add(list);
  return list;
}

/**
 * The staff names suggested in every staff list of a page: `learn(relationships)` takes them from the demos of
 * those relationships (the latest demo gives a person's role) and suggests them; `share()` suggests them again,
 * in lists made since.
 */
export function staffSuggestions() {
  const roles = new Map();
  let names = [];
  return {
    lists: new Set(),
    roleOf: (name) => roles.get(fold(name)),
    learn(relationships) {
      const known = new Map();
      for (const relationship of relationships) {
        for (const demo of Object.values(relationship.demos || {}).sort((a, b) => Date.parse(a.scheduled_for) - Date.parse(b.scheduled_for))) {
          for (const member of demo.staff || []) {
            known.set(fold(member.name), member.name);
            roles.set(fold(member.name), member.role);
          }
        }
      }
      names = [...known.values()].sort((a, b) => a.localeCompare(b));
      this.share();
    },
    share() {
      for (const list of this.lists) list.people.known(names);
    },
  };
}
