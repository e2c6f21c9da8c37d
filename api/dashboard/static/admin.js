// Admin: the API tokens (list, add one whose secret is shown once, revoke one after a confirmation), and the
// account managers (register, deactivate). Everything here is for admins; the API refuses anyone else (403).

import { all, ApiError, send } from "./api.js";
import { action, commandForm } from "./forms.js";
import { deactivateForm, managerChoices, registerForm, setChoices } from "./team.js";
import { badge, empty, h, problem, table, time } from "./ui.js";

const ROLES = [
  ["account_manager", "account manager"],
  ["manager", "manager"],
  ["compliance", "compliance"],
  ["auditor", "auditor"],
  ["admin", "admin"],
];
const NAME_RULE = /^[A-Za-z0-9._\-@:]{1,100}$/;

function statusBadge(status) {
  return badge(status, status === "active" ? "good" : "closed");
}

/** The secret of a new token, once, with a copy button and a plain warning. */
function secretPanel(issued) {
  const field = h("input", { id: "new-token-secret", type: "text", readonly: true, value: issued.token, autocomplete: "off", spellcheck: "false" });
  const said = h("span", { id: "copy-status", role: "status" });
  const copy = async () => {
    field.select();
    try {
      await navigator.clipboard.writeText(issued.token);
      said.textContent = "Copied.";
    } catch {
      // No clipboard (an insecure page or a denied permission): the text is selected for Ctrl+C.
      said.textContent = document.execCommand && document.execCommand("copy") ? "Copied." : "Selected: press Ctrl+C (⌘C) to copy.";
    }
  };
  const panel = h(
    "div",
    { class: "banner", id: "new-token", role: "region", "aria-labelledby": "new-token-title" },
    h("strong", { id: "new-token-title" }, `Token "${issued.name}" (${issued.role.replace("_", " ")})`),
    h("p", { id: "new-token-warning" }, h("strong", {}, "Copy it now: this is the only time it is shown."), " The ledger keeps only its hash and cannot show it again; if it is lost, revoke it and add another."),
    h(
      "form",
      { class: "command-form", onsubmit: (event) => event.preventDefault() },
      h(
        "fieldset",
        {},
        h("legend", { class: "visually-hidden" }, "The new token"),
        h("div", { class: "field wide" }, h("label", { for: "new-token-secret" }, "Token"), field),
        h(
          "div",
          { class: "actions" },
          h("button", { type: "button", class: "primary", id: "copy-token", onclick: copy }, "Copy"),
          " ",
          h("button", { type: "button", id: "hide-token", onclick: () => panel.remove() }, "I have copied it: hide it"),
          " ",
          said,
        ),
      ),
    ),
  );
  return panel;
}

function tokensTable(tokens, names, { me, revoke }) {
  if (!tokens.length) return empty("No tokens.");
  const actionCell = (token) => {
    const place = h("div", { class: "revoke" });
    const ask = () => {
      const yes = h("button", { type: "button", class: "primary", dataset: { confirm: token.name } }, "Yes, revoke it");
      const no = h("button", { type: "button" }, "Cancel");
      const said = h("div", { "aria-live": "polite" });
      no.addEventListener("click", () => {
        place.replaceChildren(start);
        start.focus();
      });
      yes.addEventListener("click", async () => {
        yes.disabled = true;
        no.disabled = true;
        try {
          await revoke(token);
        } catch (error) {
          if (!(error instanceof ApiError)) throw error;
          said.replaceChildren(problem(error, "Not revoked"));
          yes.disabled = false;
          no.disabled = false;
        }
      });
      place.replaceChildren(
        h(
          "p",
          {},
          token.name === me.name
            ? `Revoke "${token.name}"? It is the token you are signed in with: you will be signed out.`
            : `Revoke "${token.name}"? Whoever uses it is refused from now on; this cannot be undone.`,
        ),
        yes,
        " ",
        no,
        said,
      );
      yes.focus();
    };
    const start = h("button", { type: "button", dataset: { revoke: token.name }, "aria-label": `Revoke ${token.name}` }, "Revoke…");
    start.addEventListener("click", ask);
    place.append(start);
    return token.status === "active" ? place : "—";
  };
  return table(
    [
      { label: "Name", cell: (t) => h("span", { class: "mono" }, t.name) },
      { label: "Role", cell: (t) => t.role.replace("_", " ") },
      { label: "Account manager", cell: (t) => (t.account_manager_id ? names.get(t.account_manager_id) || t.account_manager_id : "—") },
      { label: "Created", cell: (t) => time(t.created_at) },
      { label: "Expires", cell: (t) => (t.expires_at ? time(t.expires_at) : "never") },
      { label: "Status", cell: (t) => statusBadge(t.status) },
      { label: "Revoked", cell: (t) => (t.revoked_at ? [time(t.revoked_at), h("div", { class: "hint" }, `by ${t.revoked_by}`)] : "—") },
      { label: "", cell: actionCell },
    ],
    tokens,
    { id: "tokens", rowAttributes: (t) => ({ dataset: { tokenName: t.name, status: t.status } }) },
  );
}

function managersTable(managers) {
  if (!managers.length) return empty("No account managers.");
  return table(
    [
      { label: "Name", cell: (m) => h("a", { href: `#/managers/${m.id}` }, m.name) },
      { label: "E-mail", cell: (m) => m.email },
      { label: "Status", cell: (m) => (m.active ? badge("active", "good") : badge("deactivated", "closed")) },
    ],
    managers,
    { id: "managers", rowAttributes: (m) => ({ dataset: { managerId: m.id, active: String(m.active) } }) },
  );
}

export async function adminPage({ me }) {
  let [tokens, managers] = await Promise.all([all("/tokens"), all("/account-managers")]);
  const names = () => new Map(managers.map((m) => [m.id, m.name]));
  const secretPlace = h("div", { id: "new-token-place" });
  const status = h("div", { id: "tokens-status", role: "status", tabindex: "-1" });
  const tokensTitle = h("h2", { id: "tokens-title" }, `API tokens (${tokens.length})`);
  const tokensPlace = h("div", {});
  const managersPlace = h("div", {}, managersTable(managers));

  const redrawTokens = async () => {
    tokens = await all("/tokens");
    tokensTitle.textContent = `API tokens (${tokens.length})`;
    tokensPlace.replaceChildren(tokensTable(tokens, names(), { me, revoke }));
  };
  async function revoke(token) {
    await send("POST", `/tokens/${encodeURIComponent(token.name)}/revocation`, {});
    status.replaceChildren(h("span", {}, `Revoked "${token.name}": every request with it is refused from now on.`));
    if (token.name === me.name) {
      window.dispatchEvent(new HashChangeEvent("hashchange")); // the next read says 401, and the dashboard signs out
      return;
    }
    await redrawTokens();
    status.focus(); // the button pressed is gone with the old table
  }
  tokensPlace.append(tokensTable(tokens, names(), { me, revoke }));

  // The account manager is asked for only for an account_manager token (the field leaves the form otherwise:
  // the form's fields are laid out with `display: flex`, which `hidden` alone would not undo).
  let managerField = null;
  const managerGap = document.createComment("account manager: only for an account_manager token");
  const showManager = (form, values) => {
    managerField = managerField || form.querySelector("[data-field=account_manager_id]");
    if (!managerField) return;
    if (values.role === "account_manager") {
      if (!managerField.isConnected) managerGap.replaceWith(managerField);
    } else if (managerField.isConnected) managerField.replaceWith(managerGap);
  };
  const addToken = commandForm({
    id: "add-token",
    legend: "Add a token",
    submitLabel: "Add token",
    fields: [
      { name: "name", label: "Name", required: true, placeholder: "crm-sync or ann.lee", hint: "1–100 of A–Z a–z 0–9 . _ - @ : — never reused; it is the actor on everything the token records." },
      { name: "role", label: "Role", kind: "select", choices: ROLES, value: "account_manager" },
      { name: "account_manager_id", label: "Account manager", kind: "select", choices: managerChoices(managers), hint: "The account manager the token stands for." },
      { name: "expires_at", label: "Expires (your local time, optional)", kind: "datetime", hint: "Leave empty for a token that does not expire." },
    ],
    check: (values) => {
      const problems = [];
      if (values.name && !NAME_RULE.test(values.name)) problems.push({ field: "name", message: "Use 1–100 of A–Z a–z 0–9 . _ - @ : (no spaces)." });
      if (values.role === "account_manager" && !values.account_manager_id) problems.push({ field: "account_manager_id", message: "Choose the account manager this token stands for." });
      return problems;
    },
    request: (values) => ({
      method: "POST",
      path: "/tokens",
      idempotent: false, // the API refuses an Idempotency-Key here: its answer holds the secret
      body: {
        name: values.name ?? "",
        role: values.role,
        ...(values.role === "account_manager" ? { account_manager_id: values.account_manager_id } : {}),
        ...(values.expires_at ? { expires_at: values.expires_at } : {}),
      },
    }),
    onInput: (values, form) => showManager(form, values),
    doneText: (answer) => `Added "${answer.name}". Its token is shown above, once.`,
    done: async (answer) => {
      showManager(addToken, { role: "account_manager" }); // the form is back at its defaults
      status.replaceChildren();
      secretPlace.replaceChildren(secretPanel(answer));
      await redrawTokens();
      document.getElementById("new-token-secret")?.focus();
    },
  });

  const managersChanged = async (answer) => {
    managers = await all("/account-managers", { min_position: answer.position });
    managersPlace.replaceChildren(managersTable(managers));
    setChoices(addToken.querySelector("select[name=account_manager_id]"), managerChoices(managers));
    deactivate.refreshManagers?.(managers);
    tokensPlace.replaceChildren(tokensTable(tokens, names(), { me, revoke }));
  };
  const deactivate = deactivateForm({ id: "admin-deactivate", managers, done: managersChanged });

  return [
    h("h1", {}, "Admin"),
    h("p", { class: "subtitle" }, "API tokens and account managers. A token's secret is shown once, when it is added; the ledger keeps only its hash."),
    tokensTitle,
    secretPlace,
    action("Add a token", addToken),
    status,
    tokensPlace,
    h("h2", {}, "Account managers"),
    action("Register an account manager", registerForm({ id: "admin-register", done: managersChanged })),
    action("Deactivate an account manager", deactivate),
    managersPlace,
  ];
}
