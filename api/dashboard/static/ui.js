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

// One time format everywhere: the viewer's local time with its offset ("3 Dec 2026, 14:00 +01:00"), the UTC
// time on hover (`title`) and in `<time datetime>`. A date stays a date ("3 Dec 2026"), never moved across zones.

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const DATE_ONLY = /^(\d{4})-(\d\d)-(\d\d)$/;
const pad2 = (n) => String(n).padStart(2, "0");

/** A Date for an RFC 3339 time (or a Date), or null. */
function instant(text) {
  if (!text) return null;
  const when = text instanceof Date ? text : new Date(text);
  return Number.isNaN(when.getTime()) ? null : when;
}

/** The viewer's offset from UTC at that moment: "+01:00", "-05:00". */
export function offsetOf(when) {
  const minutes = -when.getTimezoneOffset();
  return `${minutes >= 0 ? "+" : "-"}${pad2(Math.floor(Math.abs(minutes) / 60))}:${pad2(Math.abs(minutes) % 60)}`;
}

/** "2026-12-03" → "3 Dec 2026" (a business date: no time zone involved). */
export function dateText(text) {
  if (!text) return "—";
  const match = DATE_ONLY.exec(String(text));
  if (!match) return localTime(text);
  return `${Number(match[3])} ${MONTHS[Number(match[2]) - 1]} ${match[1]}`;
}

/** The local calendar day of a time, as YYYY-MM-DD (for grouping). */
export function localDay(text) {
  const match = DATE_ONLY.exec(String(text || ""));
  if (match) return String(text);
  const when = instant(text);
  if (!when) return "";
  return `${when.getFullYear()}-${pad2(when.getMonth() + 1)}-${pad2(when.getDate())}`;
}

/** "2026-12-03" → "Thursday 3 Dec 2026" (a day heading). */
export function dayHeading(day) {
  const match = DATE_ONLY.exec(day || "");
  if (!match) return day || "—";
  const weekday = WEEKDAYS[new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3])).getDay()];
  return `${weekday} ${dateText(day)}`;
}

/** A time of day in the viewer's zone with its offset: "14:00 +01:00". */
export function clockText(text) {
  const when = instant(text);
  if (!when) return text ? String(text) : "—";
  return `${pad2(when.getHours())}:${pad2(when.getMinutes())} ${offsetOf(when)}`;
}

/** THE format for a time: "3 Dec 2026, 14:00 +01:00" in the viewer's zone; a date-only value stays a date. */
export function localTime(text) {
  if (!text) return "—";
  if (DATE_ONLY.test(String(text))) return dateText(text);
  const when = instant(text);
  if (!when) return String(text);
  return `${when.getDate()} ${MONTHS[when.getMonth()]} ${when.getFullYear()}, ${clockText(when)}`;
}

/** The UTC reading shown on hover: "2026-12-03 13:00:00 UTC". */
export function utcText(text) {
  const when = instant(text);
  if (!when) return text ? String(text) : "";
  return `${when.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/**
 * A `<time>`: the local reading (or `formatted`), `datetime` the UTC instant (a date stays a date), and the UTC
 * reading on hover. `how`: "clock" for the time of day only.
 */
export function time(text, formatted, how) {
  if (!text) return h("span", { class: "no-time" }, "—");
  if (DATE_ONLY.test(String(text))) return h("time", { datetime: text, title: text }, formatted ?? dateText(text));
  const when = instant(text);
  if (!when) return h("span", {}, String(text));
  const shown = formatted ?? (how === "clock" ? clockText(when) : localTime(when));
  return h("time", { datetime: when.toISOString(), title: utcText(when) }, shown);
}

/** Whole days from `then` to `now` (floor; 0 within the first day). */
export function daysSince(then, now = new Date()) {
  const when = instant(then);
  return when ? Math.floor((now.getTime() - when.getTime()) / 86_400_000) : null;
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
  if (error && error.path) meta.push(`${error.method || "GET"} /v1${error.path}`);
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

/** Text folded for searching: case and accents ignored. */
export function folded(text) {
  return String(text || "")
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase();
}

/**
 * A labelled search box that hides the rows of `target` (a table, or what holds one) whose text does not hold
 * what is typed (case and accents ignored; a row's `data-search` is used instead of its text when it has one).
 * It keeps working when the table redraws its rows (sorting). `onCount(shown, total)` hears each change.
 * Usage: `searchBox({ id: "register-search", label: "Find a recipient", target: tableWrap })`.
 */
export function searchBox({ id, label, placeholder, target, value = "", onCount, onInput }) {
  const input = h("input", { id, type: "search", value, placeholder: placeholder || "", autocomplete: "off", spellcheck: "false" });
  function apply() {
    const wanted = folded(input.value.trim());
    const rows = [...target.querySelectorAll("tbody tr")];
    let shown = 0;
    for (const row of rows) {
      const match = !wanted || folded(row.dataset.search ?? row.textContent).includes(wanted);
      row.hidden = !match;
      if (match) shown += 1;
    }
    onCount?.(shown, rows.length);
  }
  input.addEventListener("input", () => {
    apply();
    onInput?.(input.value);
  });
  const body = target.querySelector("tbody");
  if (body) new MutationObserver(apply).observe(body, { childList: true });
  queueMicrotask(apply);
  return h("span", { class: "search" }, h("label", { for: id }, label), input);
}

/**
 * A year selector that always holds the year shown (so `?year=2019` and the selector agree): the last `span`
 * years up to this one, plus `year` if it lies outside them.
 */
export function yearSelect({ id, year, label = "Year", span = 3, onchange }) {
  const thisYear = new Date().getFullYear();
  const years = new Set(Array.from({ length: span }, (_, back) => thisYear - back));
  years.add(year);
  return h(
    "select",
    { id, "aria-label": label, onchange },
    [...years].sort((a, b) => b - a).map((option) => h("option", { value: option, selected: option === year }, String(option))),
  );
}
