// The public API, and nothing else: every request goes to /v1 on this page's own origin with the pasted token.

const TOKEN_KEY = "ledger.dashboard.token";
const ME_KEY = "ledger.dashboard.me";

/** The token and who it stands for, kept for this browser tab only (sessionStorage). */
export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  get me() {
    const kept = sessionStorage.getItem(ME_KEY);
    return kept ? JSON.parse(kept) : null;
  },
  start(token, me) {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(ME_KEY, JSON.stringify(me));
  },
  end() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(ME_KEY);
  },
};

/** A refused or failed request, as the API's problem+json described it (or as the network failed). */
export class ApiError extends Error {
  constructor({ status, title, detail, code, path, correlationId, errors, method, body }) {
    super(detail || title);
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.code = code;
    this.path = path;
    this.correlationId = correlationId;
    /** For a 422: [{field, message}], each naming the field it is about ("recipient.name", "cost"). */
    this.errors = errors || [];
    this.method = method || "GET";
    /** The whole problem body (the gift figures of gift_limit_exceeded, the candidates of likely_same_recipient). */
    this.body = body || {};
  }
}

function url(path, params) {
  const address = new URL(`/v1${path}`, window.location.origin);
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") address.searchParams.set(name, value);
  }
  return address;
}

async function problemOf(response, path, method) {
  let body = {};
  try {
    const type = response.headers.get("content-type") || "";
    body = type.includes("json") ? await response.json() : { detail: (await response.text()).slice(0, 300) };
  } catch {
    body = {};
  }
  return new ApiError({
    status: response.status,
    title: body.title || response.statusText || "The request failed",
    detail: body.detail || "",
    code: body.code || "",
    path,
    correlationId: response.headers.get("x-correlation-id"),
    errors: Array.isArray(body.errors) ? body.errors : [],
    method,
    body,
  });
}

/** The raw response of GET /v1{path}, or an ApiError. */
export async function request(path, { params, token, accept } = {}) {
  let response;
  try {
    response = await fetch(url(path, params), {
      headers: { Authorization: `Bearer ${token ?? session.token ?? ""}`, Accept: accept ?? "application/json" },
      cache: "no-store",
    });
  } catch (error) {
    throw new ApiError({
      status: 0,
      title: "The ledger could not be reached",
      detail: `No answer from ${window.location.origin} (${error.message}). Is \`ledger serve\` still running?`,
      code: "network_error",
      path,
    });
  }
  if (!response.ok) throw await problemOf(response, path, "GET");
  return response;
}

/** The JSON body of GET /v1{path}. */
export async function get(path, options = {}) {
  const response = await request(path, options);
  return response.json();
}

/** Every item of a paged list, following `next_cursor` (at most `maxPages` pages of 500). */
export async function all(path, params = {}, maxPages = 40) {
  const items = [];
  let cursor = null;
  for (let page = 0; page < maxPages; page += 1) {
    const body = await get(path, { params: { ...params, limit: 500, cursor } });
    items.push(...body.items);
    if (!body.next_cursor) break;
    cursor = body.next_cursor;
  }
  return items;
}

/** A fresh Idempotency-Key: one per submit of a form, kept when the same submit is retried. */
export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID(); // only in secure contexts (HTTPS, localhost)
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * A command: `method` (POST or PUT) to /v1{path} with a JSON `body`, sending `If-Match` when `version` is given
 * (the version on screen) and the `idempotencyKey` (so that a double click stores once). Returns the answer's
 * JSON with its `etag` version, or throws an ApiError carrying the problem (and its field `errors`).
 */
export async function send(method, path, body, { version, idempotencyKey, token } = {}) {
  const headers = {
    Authorization: `Bearer ${token ?? session.token ?? ""}`,
    Accept: "application/json",
    "Content-Type": "application/json",
    "Idempotency-Key": idempotencyKey ?? newKey(),
  };
  if (version !== undefined && version !== null) headers["If-Match"] = `"${version}"`;
  if (idempotencyKey === false) delete headers["Idempotency-Key"]; // a route that refuses one (POST /tokens)
  let response;
  try {
    response = await fetch(url(path), { method, headers, body: JSON.stringify(body ?? {}), cache: "no-store" });
  } catch (error) {
    throw new ApiError({
      status: 0,
      title: "The ledger could not be reached",
      detail: `No answer from ${window.location.origin} (${error.message}); nothing is known to be stored. Submit again: the same request is not stored twice.`,
      code: "network_error",
      path,
      method,
    });
  }
  if (!response.ok) throw await problemOf(response, path, method);
  const answer = response.status === 204 ? {} : await response.json();
  const etag = /"?(\d+)"?/.exec(response.headers.get("etag") || "");
  return { ...answer, etag: etag ? Number(etag[1]) : undefined };
}

/** GET /health needs no token; the log's head is where every view would be with no lag. */
export async function head() {
  const response = await fetch(new URL("/health", window.location.origin), { cache: "no-store" });
  const body = await response.json();
  const ends = Object.entries(body.projections || {}).map(([name, position]) => position + ((body.lag || {})[name] || 0));
  return ends.length ? Math.max(...ends) : 0;
}

/** Which pages a role may see (DOMAIN.md's role table, as the API enforces it). */
export function mayRead(role, page) {
  const readersOfEverything = ["compliance", "auditor", "admin"];
  if (page === "compliance" || page === "audit") return readersOfEverything.includes(role);
  if (page === "admin") return role === "admin"; // the API tokens (GET /v1/tokens)
  // Pay too: the team's for the other roles; for an account manager their own and the contracts credited to them
  // (a relationship handed over links from there), as the API answers them and no one else's.
  return true;
}
