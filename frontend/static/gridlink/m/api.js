// The API as the responders' app uses it: JSON both ways, the session's CSRF token on every POST
// (cookie and header names from the server's configuration), an Idempotency-Key per action — fresh,
// or the one the outbox (queue.js) made when the action was queued, sent again on every retry (the
// server keeps the answer with it: a request repeated by a flaky network runs once) — and the
// server's own words when it refuses (a 4xx's `detail`, or DRF's field messages).
//
// Every call resolves to {ok, status, data, message}; a network failure resolves too, with
// status 0 and the fallback message. Nothing here touches the page.

/** A cookie's value from a `document.cookie` string, or "". */
export function cookieValue(cookies, name) {
  for (const part of String(cookies || "").split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) {
      return decodeURIComponent(rest.join("="));
    }
  }
  return "";
}

function flatten(value) {
  if (value === null || value === undefined) {
    return [];
  }
  if (Array.isArray(value)) {
    return value.flatMap(flatten);
  }
  if (typeof value === "object") {
    return Object.values(value).flatMap(flatten);
  }
  return [String(value)];
}

/** The server's message in a refusal's body: `detail`, else every field message; else `fallback`. */
export function errorMessage(data, fallback) {
  if (data && typeof data === "object" && !Array.isArray(data)) {
    if (data.detail) {
      return String(data.detail);
    }
    const messages = Object.entries(data)
      .filter(([key]) => key !== "code")
      .flatMap(([, value]) => flatten(value));
    if (messages.length) {
      return messages.join(" ");
    }
  } else if (Array.isArray(data) && data.length) {
    return flatten(data).join(" ");
  }
  return fallback;
}

/** A URL template's "{id}" filled in. */
export function urlFor(template, id) {
  return String(template).replace("{id}", encodeURIComponent(String(id)));
}

/** A new random Idempotency-Key (crypto.getRandomValues works outside secure contexts too). */
export function newKey(cryptoImpl = globalThis.crypto) {
  const bytes = new Uint8Array(16);
  cryptoImpl.getRandomValues(bytes);
  return "m-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * createApi({csrf: {cookie, header}, fallback, fetchImpl, cookies}) → {get(url), post(url, body)}.
 * `cookies()` returns the document's cookie string (the CSRF token rotates at login).
 * `post(url, body, {key})` sends `key` as the Idempotency-Key (default: a fresh one).
 */
export function createApi({ csrf, fallback, fetchImpl = globalThis.fetch.bind(globalThis), cookies }) {
  async function call(method, url, body, key) {
    const headers = { Accept: "application/json" };
    if (method !== "GET") {
      headers["Content-Type"] = "application/json";
      headers[csrf.header] = cookieValue(cookies(), csrf.cookie);
      headers["Idempotency-Key"] = key || newKey();
    }
    let response;
    try {
      response = await fetchImpl(url, {
        method,
        headers,
        credentials: "same-origin",
        cache: "no-store",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      return { ok: false, status: 0, data: null, message: fallback };
    }
    let data;
    try {
      const raw = await response.text();
      data = raw ? JSON.parse(raw) : null;
    } catch {
      data = null; // not JSON (a proxy's error page): the fallback message says it
    }
    return {
      ok: response.ok,
      status: response.status,
      data,
      message: response.ok ? "" : errorMessage(data, fallback),
    };
  }

  return {
    get: (url) => call("GET", url),
    post: (url, body = {}, { key } = {}) => call("POST", url, body, key),
  };
}
