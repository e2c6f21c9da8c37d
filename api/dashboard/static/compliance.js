// Compliance: the gift register for a year, each recipient's counted total against the limit in force, and
// the exceptions (gifts over the limit, past 80 % of it, to one person within 7 days of each other, and
// uncounted gifts above the review threshold). A recipient's status comes from the API: one limit everywhere.

import { all, get } from "./api.js";
import { badge, bar, card, empty, h, link, meter, money, sortableTable, table } from "./ui.js";

const NEAR = 0.8;

function share(entry) {
  return Number(entry.limit) > 0 ? Number(entry.counted_total) / Number(entry.limit) : 0;
}

export async function compliancePage({ query }) {
  const thisYear = new Date().getUTCFullYear();
  const year = Number(query.get("year")) || thisYear;
  const [policy, register, exceptions] = await Promise.all([
    get("/compliance/gift-policy"),
    all("/compliance/gift-register", { year }),
    all("/compliance/exceptions", { year }),
  ]);
  const near = register.filter((entry) => entry.status === "near_limit");
  const breached = register.filter((entry) => entry.status === "breach");
  const counted = register.reduce((total, entry) => total + entry.gifts.length, 0);
  const picker = h(
    "select",
    { id: "register-year", "aria-label": "Year", onchange: (event) => (window.location.hash = `#/compliance?year=${event.target.value}`) },
    [0, 1, 2].map((back) => h("option", { value: thisYear - back, selected: thisYear - back === year }, String(thisYear - back))),
  );
  const columns = [
    {
      key: "name",
      label: "Recipient",
      value: (e) => e.name,
      cell: (e) => h("div", {}, h("strong", {}, e.name), " ", e.status === "ok" ? null : badge(e.status.replaceAll("_", " "), e.status), h("div", { class: "hint" }, e.employer)),
    },
    {
      key: "total",
      label: "Counted against the limit",
      value: (e) => share(e),
      first: "descending",
      cell: (e) =>
        meter(
          bar(Number(e.counted_total), Number(e.limit), {
            tone: e.status === "breach" ? "bad" : e.status === "near_limit" ? "warn" : "good",
            ticks: [Number(e.limit) * NEAR],
            label: `${e.name}: ${money(e.counted_total)} of ${money(e.limit)}`,
          }),
          `${money(e.counted_total)} of ${money(e.limit)}`,
          `${Math.round(share(e) * 100)} %`,
        ),
    },
    { key: "headroom", label: "Headroom", numeric: true, value: (e) => Number(e.headroom), first: "ascending", cell: (e) => money(e.headroom) },
    {
      key: "gifts",
      label: "Gifts",
      numeric: true,
      value: (e) => e.gifts.length,
      cell: (e) =>
        h(
          "details",
          {},
          h("summary", {}, String(e.gifts.length)),
          h("ul", { class: "gifts" }, e.gifts.map((g) => h("li", {}, `${g.given_on} ${g.description || g.category || "gift"}: ${money(g.counted_value)}`, g.relationship_id ? [" · ", link(`#/relationships/${g.relationship_id}`, "relationship")] : null))),
        ),
    },
  ];
  const schedule = policy.limit_schedule.map((change) => `${money(change.amount, { whole: true })} from ${change.effective_from}`).join("; ");
  return [
    h("h1", {}, "Compliance"),
    h(
      "p",
      { class: "subtitle" },
      "The gift register under FINRA Rule 3220 for ",
      picker,
      `. Limit year: ${policy.limit_year.kind.replaceAll("_", " ")}. Limits: ${schedule}. The tick on each bar marks 80 % of the limit.`,
    ),
    h(
      "div",
      { class: "cards" },
      card("Recipients", String(register.length)),
      card("Gifts on record", String(counted)),
      card("Over the limit", String(breached.length), breached.length ? "bad" : ""),
      card("Near the limit", String(near.length), near.length ? "bad" : ""),
      card("Exceptions", String(exceptions.length), exceptions.length ? "bad" : ""),
    ),
    h("h2", {}, "Gift register"),
    register.length
      ? sortableTable(columns, register, {
          id: "register",
          sort: { key: "total", direction: "descending" },
          rowAttributes: (e) => ({ dataset: { recipientId: e.recipient_id, near: e.status === "ok" ? "no" : "yes", status: e.status } }),
        })
      : empty(`No gifts in ${year}.`),
    h("h2", {}, "Exceptions"),
    exceptions.length
      ? table(
          [
            { label: "Kind", cell: (x) => badge(x.kind) },
            { label: "Recipient", cell: (x) => h("div", {}, h("strong", {}, x.name), h("div", { class: "hint" }, x.employer)) },
            { label: "Gift", cell: (x) => h("div", {}, x.gift.description || x.gift.category || "gift", h("div", { class: "hint" }, `given ${x.gift.given_on}`)) },
            { label: "Counted", numeric: true, cell: (x) => money(x.gift.counted_value) },
            { label: "Total / limit", numeric: true, cell: (x) => `${money(x.counted_total)} / ${money(x.limit)}` },
            { label: "Relationship", cell: (x) => (x.gift.relationship_id ? link(`#/relationships/${x.gift.relationship_id}`, "open") : "—") },
          ],
          exceptions,
          { id: "exceptions", rowAttributes: (x) => ({ dataset: { recipientId: x.recipient_id, kind: x.kind } }) },
        )
      : empty("No exceptions."),
  ];
}
