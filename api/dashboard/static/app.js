// The dashboard: sign-in, the header, and the hash routes (#/workload, #/managers/{id}, #/relationships,
// #/relationships/{id}, #/compliance, #/audit). Each page reads the public API with the pasted token.

import { ApiError, get, mayRead, session } from "./api.js";
import { adminPage } from "./admin.js";
import { auditPage } from "./audit.js";
import { compliancePage } from "./compliance.js";
import { payPage } from "./pay.js";
import { relationshipPage, relationshipsPage } from "./relationships.js";
import { h, problem } from "./ui.js";
import { managerPage, workloadPage } from "./workload.js";

const main = () => document.getElementById("main");

const PAGES = [
  { name: "workload", label: "Workload", pattern: /^\/workload$/, render: workloadPage },
  { name: "workload", label: null, pattern: /^\/managers\/([\w-]+)$/, render: managerPage },
  { name: "relationships", label: "Relationships", pattern: /^\/relationships$/, render: relationshipsPage },
  { name: "relationships", label: null, pattern: /^\/relationships\/([\w-]+)$/, render: relationshipPage },
  { name: "pay", label: (role) => (role === "account_manager" ? "Your pay" : "Team pay"), pattern: /^\/pay$/, render: payPage },
  { name: "compliance", label: "Compliance", pattern: /^\/compliance$/, render: compliancePage },
  { name: "audit", label: "Audit", pattern: /^\/audit$/, render: auditPage },
  { name: "admin", label: "Admin", pattern: /^\/admin$/, render: adminPage },
];

let drawing = 0;

function route() {
  const path = (window.location.hash || "").replace(/^#/, "").split("?")[0] || "/workload";
  for (const page of PAGES) {
    const match = page.pattern.exec(path);
    if (match) return { page, params: match.slice(1), query: new URLSearchParams(window.location.hash.split("?")[1] || "") };
  }
  return { page: null, params: [], query: new URLSearchParams() };
}

function header(me, current) {
  const top = document.getElementById("top");
  top.hidden = false;
  document.getElementById("nav").replaceChildren(
    ...PAGES.filter((page) => page.label && mayRead(me.role, page.name)).map((page) =>
      h("a", { href: `#/${page.name}`, "aria-current": page.name === current ? "page" : undefined, dataset: { page: page.name } }, typeof page.label === "function" ? page.label(me.role) : page.label),
    ),
  );
  document.getElementById("who").replaceChildren(
    h("span", {}, "Signed in as ", h("strong", { id: "who-name" }, me.name)),
    h("span", { class: "role", id: "who-role" }, me.role.replace("_", " ")),
    h("button", { type: "button", id: "sign-out", onclick: signOut }, "Sign out"),
  );
}

function signOut() {
  session.end();
  window.location.hash = "";
  signIn();
}

/** The sign-in form: the token is checked with GET /v1/me before it is kept. */
function signIn(message) {
  document.getElementById("top").hidden = true;
  const input = h("input", {
    id: "token",
    name: "token",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "ldg_…",
    required: true,
    "aria-label": "API token",
  });
  const errors = h("div", { id: "sign-in-error", "aria-live": "polite" }, message ? problem(message) : null);
  const form = h(
    "form",
    {
      id: "sign-in",
      onsubmit: async (event) => {
        event.preventDefault();
        const token = input.value.trim();
        errors.replaceChildren();
        if (!token) {
          errors.append(problem({ title: "Paste a token first", detail: "`ledger serve --demo` prints one per role." }));
          return;
        }
        try {
          const me = await get("/me", { token });
          session.start(token, me);
          if (!route().page) window.location.hash = "#/workload";
          draw();
        } catch (error) {
          errors.replaceChildren(problem(error, "Could not sign in"));
        }
      },
    },
    h("label", { for: "token" }, "API token"),
    input,
    h("button", { class: "primary", type: "submit" }, "Sign in"),
  );
  main().replaceChildren(
    h(
      "section",
      { class: "signin panel" },
      h("h1", {}, "Relationship ledger"),
      h(
        "p",
        {},
        "Paste a token printed by ",
        h("code", {}, "ledger serve --demo"),
        " (or made with ",
        h("code", {}, "ledger tokens add"),
        "). It stays in this browser tab only and is sent with each request to the API; the pages show what its role may see.",
      ),
      form,
      errors,
    ),
  );
  input.focus();
}

/** Draws the page the hash names, discarding a page whose data arrives after the user moved on. */
async function draw() {
  const me = session.me;
  if (!session.token || !me) {
    signIn();
    return;
  }
  const { page, params, query } = route();
  header(me, page ? page.name : null);
  const ticket = ++drawing;
  const target = h("div", { id: "page", "aria-busy": "true" }, h("p", { class: "loading" }, "Loading…"));
  main().replaceChildren(target);
  if (!page) {
    target.replaceChildren(problem({ title: "No such page", detail: `Nothing lives at ${window.location.hash}.` }));
    return;
  }
  try {
    const content = await page.render({ me, params, query, stale: () => ticket !== drawing });
    if (ticket !== drawing) return;
    target.replaceChildren(...[content].flat());
  } catch (error) {
    if (ticket !== drawing) return;
    if (error instanceof ApiError && error.status === 401) {
      session.end();
      signIn(error);
      return;
    }
    target.replaceChildren(problem(error));
    console.error(error);
  } finally {
    target.removeAttribute("aria-busy");
  }
}

// Anything that escapes a page still ends up on the screen, never as a blank page.
window.addEventListener("unhandledrejection", (event) => {
  const place = document.getElementById("page") || main();
  place.append(problem(event.reason instanceof Error ? event.reason : { title: "Unexpected error", detail: String(event.reason) }));
});
window.addEventListener("error", (event) => {
  const place = document.getElementById("page") || main();
  place.append(problem({ title: "The dashboard hit an error", detail: event.message }));
});
window.addEventListener("hashchange", draw);
draw();
