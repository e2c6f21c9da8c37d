// Audit: the result of verifying the whole log (events checked, the last seal, the first bad position),
// exports of every event up to a moment, and the latest events of the global feed.

import { ApiError, get, head, request } from "./api.js";
import { business, h, link, problem, table, time, utc } from "./ui.js";

const LATEST = 20;

async function download(format, asOf, status) {
  status.replaceChildren(h("span", { class: "hint" }, "Preparing the export…"));
  try {
    const params = { format, as_of: asOf ? new Date(asOf).toISOString() : undefined };
    const response = await request("/audit/export", { params, accept: format === "csv" ? "text/csv" : "application/x-ndjson" });
    const blob = await response.blob();
    const name = `ledger-events-${(asOf ? new Date(asOf) : new Date()).toISOString().replaceAll(":", "-").slice(0, 19)}.${format === "csv" ? "csv" : "jsonl"}`;
    const address = URL.createObjectURL(blob);
    const anchor = h("a", { href: address, download: name, id: `export-${format}-file` }, `Save ${name} (${blob.size.toLocaleString()} bytes)`);
    status.replaceChildren(anchor);
    anchor.click();
  } catch (error) {
    status.replaceChildren(problem(error, "Could not export"));
  }
}

export async function auditPage() {
  const [verification, position] = await Promise.all([get("/audit/verify"), head()]);
  let latest = [];
  let latestProblem = null;
  try {
    latest = (await get("/audit/events", { params: { after: Math.max(0, position - LATEST), limit: LATEST } })).items.reverse();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    latestProblem = problem(error, "Could not read the latest events");
  }
  const seal = verification.last_seal;
  const asOf = h("input", { id: "export-as-of", type: "datetime-local", step: 1, "aria-label": "Export events recorded up to (your local time)" });
  const status = h("div", { id: "export-status", "aria-live": "polite" });
  const exportButton = (format, text) =>
    h("button", { type: "button", id: `export-${format}`, onclick: () => download(format, asOf.value, status) }, text);
  return [
    h("h1", {}, "Audit"),
    h("p", { class: "subtitle" }, "Every hash chain and seal recomputed from the stored events, just now (GET /v1/audit/verify)."),
    h(
      "section",
      { class: "panel", id: "verification", dataset: { ok: String(verification.ok) } },
      h(
        "div",
        { class: "verdict" },
        h("div", { class: `mark ${verification.ok ? "good" : "bad"}`, "aria-hidden": "true" }, verification.ok ? "✓" : "✗"),
        h("div", {}, h("h2", {}, verification.ok ? "The log is intact" : "The log is NOT intact"), h("p", { class: "hint" }, `Verified ${utc(new Date().toISOString())}`)),
      ),
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "Events checked"),
        h("dd", { id: "events-checked" }, verification.events_checked.toLocaleString("en-US")),
        h("dt", {}, "Seals checked"),
        h("dd", { id: "seals-checked" }, String(verification.seals_checked)),
        h("dt", {}, "Last seal"),
        h(
          "dd",
          { id: "last-seal" },
          seal
            ? `position ${seal.position.toLocaleString("en-US")} (${seal.size.toLocaleString("en-US")} events), sealed ${utc(seal.sealed_at)}`
            : "none yet (a running ledger seals every LEDGER_SEAL_EVERY events; `ledger seal` seals now)",
        ),
        h("dt", {}, "First bad position"),
        h("dd", { id: "first-bad-position" }, verification.first_bad_position === null ? "none" : String(verification.first_bad_position)),
      ),
      verification.problems.length ? h("ul", { id: "verification-problems" }, verification.problems.map((p) => h("li", {}, p))) : null,
    ),
    h("h2", {}, "Export"),
    h(
      "section",
      { class: "panel" },
      h(
        "div",
        { class: "exports" },
        h("label", { for: "export-as-of" }, "Events recorded up to"),
        asOf,
        h("span", { class: "hint" }, "(empty: now)"),
        exportButton("jsonl", "Download JSON Lines"),
        exportButton("csv", "Download CSV"),
      ),
      h("p", { class: "hint" }, "Each line carries the audit fields, the hash, and the topic and state exactly as stored, so the hashes can be recomputed independently."),
      status,
    ),
    h("h2", {}, `Latest ${LATEST} events`),
    latestProblem ||
      table(
        [
          { label: "Position", numeric: true, cell: (e) => String(e.position) },
          { label: "Event", cell: (e) => h("div", {}, h("strong", {}, e.type), h("div", { class: "hint" }, e.aggregate_type)) },
          {
            label: "Aggregate",
            cell: (e) => (e.aggregate_type === "ClientRelationship" ? link(`#/relationships/${e.aggregate_id}`, e.aggregate_id.slice(0, 8)) : h("span", { class: "mono" }, e.aggregate_id.slice(0, 8))),
          },
          { label: "Business time", cell: (e) => (e.occurred_at ? business(e.occurred_at) : "—") },
          { label: "Recorded", cell: (e) => time(e.recorded_at) },
          { label: "Actor", cell: (e) => h("div", {}, h("span", { class: "clip", title: e.actor_id }, e.actor_id), h("div", { class: "hint" }, e.actor_role.replace("_", " "))) },
          { label: "Correlation id", cell: (e) => h("span", { class: "mono clip", title: e.correlation_id }, e.correlation_id) },
        ],
        latest,
        { id: "latest-events" },
      ),
  ];
}
