// Small DOM helpers: elements from data (never HTML strings), SVG bars, formats, sortable tables, problems.

const SVG = "http://www.w3.org/2000/svg";

function apply(element, attributes) {
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") element.textContent = value;
    else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? "" : value);
  }
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** An HTML element: h("a", {href: "#/x", class: "c"}, "text", child). */
export function h(tag, attributes, ...children) {
  return append(apply(document.createElement(tag), attributes), children);
}

/** An SVG element. */
export function s(tag, attributes, ...children) {
  return append(apply(document.createElementNS(SVG, tag), attributes), children);
}

/** A horizontal bar for `value` on a scale of 0 to `max`, with optional tick marks (values on the same scale). */
export function bar(value, max, { tone = "", ticks = [], label = "" } = {}) {
  const share = max > 0 ? Math.max(0, Math.min(1, value / max)) : 0;
  return s(
    "svg",
    { viewBox: "0 0 100 10", preserveAspectRatio: "none", role: "img", "aria-label": label, class: "bar" },
    s("title", { text: label }),
    s("rect", { class: "track", x: 0, y: 0, width: 100, height: 10, rx: 2 }),
    s("rect", { class: `fill ${tone}`, x: 0, y: 0, width: (share * 100).toFixed(2), height: 10, rx: 2 }),
    ticks.filter((tick) => max > 0 && tick <= max).map((tick) => {
      const x = ((tick / max) * 100).toFixed(2);
      return s("line", { class: "tick", x1: x, x2: x, y1: 0, y2: 10 });
    }),
  );
}

/** A bar made of parts laid end to end ([{value, tone, label}]) on a scale of 0 to `max`. */
export function stackedBar(parts, max, label) {
  let x = 0;
  const rects = [];
  for (const part of parts) {
    const width = max > 0 ? (part.value / max) * 100 : 0;
    if (width > 0) rects.push(s("rect", { class: part.tone, x: x.toFixed(2), y: 0, width: width.toFixed(2), height: 10 }, s("title", { text: part.label })));
    x += width;
  }
  return s(
    "svg",
    { viewBox: "0 0 100 10", preserveAspectRatio: "none", role: "img", "aria-label": label, class: "bar" },
    s("title", { text: label }),
    s("rect", { class: "track", x: 0, y: 0, width: 100, height: 10, rx: 2 }),
    rects,
  );
}

/** A bar with its figure beside it. */
export function meter(svg, figure, small) {
  return h("div", { class: "meter" }, svg, h("span", { class: "figure" }, figure, small ? h("small", {}, " ", small) : null));
}

const USD = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
const WHOLE_USD = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", maximumFractionDigits: 0 });

/** "2453000.00" → "$2,453,000.00" (money stays a string until it is shown). */
export function money(amount, { whole = false } = {}) {
  if (amount === null || amount === undefined) return "—";
  return (whole ? WHOLE_USD : USD).format(Number(amount));
}

/** "0.7247" → "72.5 %" (or "—" when there is no quota). */
export function percent(fraction) {
  if (fraction === null || fraction === undefined) return "—";
  return `${(Number(fraction) * 100).toFixed(1)} %`;
}

/** A recorded time (UTC) as "2026-11-27 00:12:16 UTC". */
export function utc(text) {
  if (!text) return "—";
  const when = new Date(text);
  if (Number.isNaN(when.getTime())) return text;
  return `${when.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** A business time as it was given, offset included: "2026-03-08 10:00 −05:00"; a date stays a date. */
export function business(text) {
  if (!text) return "—";
  const match = /^(\d{4}-\d\d-\d\d)(?:T(\d\d:\d\d)(?::\d\d(?:\.\d+)?)?(Z|[+-]\d\d:\d\d)?)?$/.exec(text);
  if (!match) return text;
  const [, day, clock, offset] = match;
  if (!clock) return day;
  return `${day} ${clock}${offset ? ` ${offset === "Z" ? "UTC" : offset.replace("-", "−")}` : ""}`;
}

export function time(text, formatted) {
  return h("time", { datetime: text || undefined, title: text || undefined }, formatted ?? utc(text));
}

export function badge(text, tone) {
  return h("span", { class: `badge ${tone ?? text}` }, String(text).replace("_", " "));
}

export function card(label, value, tone) {
  return h("div", { class: "card" }, h("div", { class: "label" }, label), h("div", { class: `value ${tone || ""}` }, value));
}

export function empty(text) {
  return h("p", { class: "empty" }, text);
}

/** A readable message for a refused or failed request: its title, detail, status and code. */
export function problem(error, context) {
  const status = error && error.status !== undefined ? error.status : null;
  const title = (error && error.title) || "Something went wrong";
  const detail = (error && (error.detail || error.message)) || "";
  const meta = [];
  if (status) meta.push(`HTTP ${status}`);
  if (error && error.code) meta.push(error.code);
  if (error && error.path) meta.push(`GET /v1${error.path}`);
  if (error && error.correlationId) meta.push(`correlation id ${error.correlationId}`);
  return h(
    "div",
    { class: "problem", role: "alert", dataset: { code: (error && error.code) || "error" } },
    h("strong", {}, context ? `${context}: ${title}` : title),
    detail ? h("p", {}, detail) : null,
    meta.length ? h("div", { class: "meta" }, meta.join(" · ")) : null,
  );
}

/**
 * A table sorted by clicking its headers. `columns`: [{key, label, value(row), cell(row), numeric, first}];
 * `value` is what sorts, `cell` what shows. `sort`: the initial {key, direction}.
 */
export function sortableTable(columns, rows, { sort, caption, rowAttributes, id } = {}) {
  let current = sort || null;
  const body = h("tbody");
  const headers = columns.map((column) => {
    const th = h("th", { scope: "col", class: column.numeric ? "num" : "", dataset: { key: column.key } });
    if (column.value) {
      th.append(h("button", { class: "sort", type: "button", onclick: () => sortBy(column) }, column.label));
    } else {
      th.append(column.label);
    }
    if (column.extra) th.append(column.extra);
    return th;
  });

  function sortBy(column) {
    const direction =
      current && current.key === column.key ? (current.direction === "ascending" ? "descending" : "ascending") : column.first || (column.numeric ? "descending" : "ascending");
    current = { key: column.key, direction };
    draw();
  }

  function draw() {
    let ordered = rows;
    if (current) {
      const column = columns.find((c) => c.key === current.key);
      const sign = current.direction === "ascending" ? 1 : -1;
      ordered = [...rows].sort((a, b) => {
        const x = column.value(a);
        const y = column.value(b);
        if (x === y) return 0;
        if (x === null || x === undefined) return 1;
        if (y === null || y === undefined) return -1;
        return (typeof x === "string" ? x.localeCompare(y) : x < y ? -1 : 1) * sign;
      });
    }
    headers.forEach((th, index) => {
      if (current && columns[index].key === current.key) th.setAttribute("aria-sort", current.direction);
      else th.removeAttribute("aria-sort");
    });
    body.replaceChildren(
      ...ordered.map((row) =>
        h(
          "tr",
          rowAttributes ? rowAttributes(row) : {},
          columns.map((column) => h("td", { class: column.numeric ? "num" : "" }, column.cell(row))),
        ),
      ),
    );
  }

  draw();
  return h("div", { class: "table-wrap" }, h("table", { id }, caption ? h("caption", { class: "visually-hidden" }, caption) : null, h("thead", {}, h("tr", {}, headers)), body));
}

/** A plain table: columns [{label, cell(row), numeric}]. */
export function table(columns, rows, { id, rowAttributes } = {}) {
  const head = h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.numeric ? "num" : "" }, c.label))));
  const body = h(
    "tbody",
    {},
    rows.map((row) => h("tr", rowAttributes ? rowAttributes(row) : {}, columns.map((c) => h("td", { class: c.numeric ? "num" : "" }, c.cell(row))))),
  );
  return h("div", { class: "table-wrap" }, h("table", { id }, head, body));
}

export function tierBadge(tier) {
  return badge(tier, tier);
}

export function link(href, text) {
  return h("a", { href }, text);
}
