// Team pay: every account manager's pay for a year (base salary, commission, bonus, total; attainment), with the
// team's totals, sortable, and a CSV of the same figures made in the browser (nothing more is asked of the server).
// An account manager sees their own, and the contracts credited to them that year, each linking to its relationship
// (one they no longer manage too: they read it as they handed it over).

import { all, get, request } from "./api.js";
import { badge, bar, card, empty, h, link, meter, money, percent, sortableTable, table, time, yearSelect } from "./ui.js";

const FIGURES = ["signed_value", "quota", "base_salary", "commission", "bonus", "total"];

/** "1234.5" → 123450n: money stays exact (whole cents) however many managers are added up. */
export function cents(text) {
  const match = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(String(text ?? "0").trim());
  if (!match) return 0n;
  const [, sign, whole, fraction = ""] = match;
  const value = BigInt(whole) * 100n + BigInt(fraction.padEnd(2, "0"));
  return sign ? -value : value;
}

/** 123450n → "1234.50". */
export function decimal(amount) {
  const sign = amount < 0n ? "-" : "";
  const size = amount < 0n ? -amount : amount;
  return `${sign}${size / 100n}.${String(size % 100n).padStart(2, "0")}`;
}

/** Runs `work` on every item, at most `width` at a time, keeping the order. */
async function eachLimited(items, width, work) {
  const results = new Array(items.length);
  let next = 0;
  async function lane() {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  }
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
  return results;
}

/** A CSV cell: quoted when needed; text that a spreadsheet would run as a formula is prefixed with '. */
function cell(value, { text = false } = {}) {
  let out = value === null || value === undefined ? "" : String(value);
  if (text && /^[=+\-@\t\r]/.test(out)) out = `'${out}`;
  return /[",\r\n]/.test(out) ? `"${out.replaceAll('"', '""')}"` : out;
}

/** The CSV of the rows shown: one line per account manager, the figures exactly as the API gave them. */
export function payCsv(rows, year) {
  const header = ["account_manager", "email", "active", "year", "signed_value", "quota", "attainment", "base_salary", "commission", "bonus", "total"];
  const lines = rows.map((r) =>
    [
      cell(r.name, { text: true }),
      cell(r.email, { text: true }),
      r.active ? "true" : "false",
      year,
      ...["signed_value", "quota"].map((k) => cell(r.pay[k])),
      cell(r.pay.attainment ?? ""),
      ...["base_salary", "commission", "bonus", "total"].map((k) => cell(r.pay[k])),
    ].join(","),
  );
  return `${[header.join(","), ...lines].join("\r\n")}\r\n`;
}

/** A relationship as the signed-in account manager reads it, and whether that is as they handed it over. */
async function relationshipFor(id) {
  try {
    const response = await request(`/relationships/${id}`);
    return { state: await response.json(), handedOver: response.headers.has("content-location") };
  } catch {
    return { state: null, handedOver: false }; // the contract still links to it
  }
}

/**
 * The contracts credited to an account manager in the year (their pay's `contracts`), each linking to its
 * relationship, named by its client and the contract's title as the relationship reads for them.
 */
async function creditedContracts(pay, year) {
  if (!Array.isArray(pay.contracts)) return null;
  const relationshipIds = [...new Set(pay.contracts.map((c) => c.relationship_id))];
  const read = await eachLimited(relationshipIds, 6, relationshipFor);
  const readOf = new Map(relationshipIds.map((id, index) => [id, read[index]]));
  const rows = pay.contracts.map((c) => {
    const { state, handedOver } = readOf.get(c.relationship_id);
    const contract = state && state.contracts[c.contract_id];
    return { ...c, handedOver, client_name: state ? state.client_name : null, title: contract ? contract.title : null };
  });
  return h(
    "section",
    { id: "credited-contracts", "aria-labelledby": "credited-contracts-title" },
    h("h2", { id: "credited-contracts-title" }, `Contracts credited to you in ${year}`),
    rows.length
      ? table(
          [
            {
              label: "Client",
              cell: (c) => [link(`#/relationships/${c.relationship_id}`, c.client_name || "The relationship"), c.handedOver ? [" ", badge("handed over", "closed")] : null],
            },
            { label: "Contract", cell: (c) => c.title || "—" },
            { label: "Signed on", cell: (c) => time(c.signed_on) },
            { label: "Value", numeric: true, cell: (c) => money(c.value) },
          ],
          rows,
          { id: "credited-contracts-table", rowAttributes: (c) => ({ dataset: { contractId: c.contract_id, relationshipId: c.relationship_id } }) },
        )
      : empty(`No contract credited to you was signed in ${year}.`),
  );
}

let lastDownload = null;

export async function payPage({ me, query }) {
  const thisYear = new Date().getFullYear();
  const asked = Number(query.get("year"));
  const year = Number.isInteger(asked) && asked >= 1900 && asked <= 2199 ? asked : thisYear;
  const managers = await all("/account-managers");
  const pays = await eachLimited(managers, 6, (m) => get(`/account-managers/${m.id}/pay/${year}`));
  const rows = managers.map((m, index) => ({ ...m, pay: pays[index] }));
  const credited = me.role === "account_manager" && rows.length === 1 ? await creditedContracts(rows[0].pay, year) : null;
  const totals = Object.fromEntries(FIGURES.map((key) => [key, rows.reduce((sum, r) => sum + cents(r.pay[key]), 0n)]));
  const teamAttainment = totals.quota > 0n ? Number(totals.signed_value) / Number(totals.quota) : null;
  const scale = Math.max(1.25, ...rows.map((r) => Number(r.pay.attainment || 0)));

  if (lastDownload) URL.revokeObjectURL(lastDownload);
  lastDownload = URL.createObjectURL(new Blob([payCsv(rows, year)], { type: "text/csv;charset=utf-8" }));
  const fileName = `team-pay-${year}.csv`;

  const amount = (key, label) => ({ key, label, numeric: true, value: (r) => Number(r.pay[key]), cell: (r) => h("span", { dataset: { figure: key } }, money(r.pay[key])) });
  const columns = [
    {
      key: "name",
      label: "Account manager",
      value: (r) => r.name,
      cell: (r) => [link(`#/managers/${r.id}`, r.name), r.active ? null : [" ", badge("deactivated", "closed")]],
    },
    amount("signed_value", "Signed value"),
    amount("quota", "Quota"),
    {
      key: "attainment",
      label: "Attainment",
      value: (r) => (r.pay.attainment === null ? null : Number(r.pay.attainment)),
      cell: (r) =>
        r.pay.attainment === null
          ? h("span", { class: "hint" }, "no quota")
          : meter(bar(Number(r.pay.attainment), scale, { tone: Number(r.pay.attainment) >= 1 ? "good" : "", ticks: [1], label: `Attainment ${percent(r.pay.attainment)}` }), percent(r.pay.attainment)),
    },
    amount("base_salary", "Base salary"),
    amount("commission", "Commission"),
    amount("bonus", "Bonus"),
    amount("total", "Total"),
  ];
  const grid = rows.length
    ? sortableTable(columns, rows, { id: "team-pay", caption: `Pay for ${year}`, sort: { key: "total", direction: "descending" }, rowAttributes: (r) => ({ dataset: { managerId: r.id } }) })
    : null;
  if (grid) {
    const total = (key) => h("td", { class: "num", dataset: { total: key } }, h("strong", {}, money(decimal(totals[key]))));
    grid.querySelector("table").append(
      h(
        "tfoot",
        { id: "team-pay-totals" },
        h(
          "tr",
          {},
          h("th", { scope: "row" }, `Team (${rows.length})`),
          total("signed_value"),
          total("quota"),
          h("td", { dataset: { total: "attainment" } }, teamAttainment === null ? "—" : percent(teamAttainment)),
          total("base_salary"),
          total("commission"),
          total("bonus"),
          total("total"),
        ),
      ),
    );
  }
  const picker = yearSelect({ id: "team-pay-year", year, label: "Year", span: 6, onchange: (event) => (window.location.hash = `#/pay?year=${event.target.value}`) });
  return [
    h("h1", {}, me.role === "account_manager" ? "Your pay" : "Team pay"),
    h(
      "p",
      { class: "subtitle" },
      me.role === "account_manager"
        ? "Your own pay (an account manager reads only their own)."
        : "Every account manager's pay for the year by DOMAIN.md's formulas: base salary, commission on signed value (plus the accelerator above quota), and the bonus at the threshold. Click a header to sort.",
    ),
    h(
      "div",
      { class: "controls" },
      h("label", { for: "team-pay-year" }, "Year"),
      picker,
      h("a", { class: "button", id: "pay-csv", href: lastDownload, download: fileName }, `Download CSV (${rows.length} rows)`),
    ),
    h(
      "div",
      { class: "cards" },
      card("Account managers", String(rows.length)),
      card("Signed value", money(decimal(totals.signed_value), { whole: true })),
      card("Team attainment", teamAttainment === null ? "—" : percent(teamAttainment)),
      card("Total pay", h("span", { id: "team-pay-total", title: money(decimal(totals.total)) }, money(decimal(totals.total), { whole: true }))),
    ),
    grid || empty("No account managers."),
    ...(credited ? [credited] : []),
  ];
}
