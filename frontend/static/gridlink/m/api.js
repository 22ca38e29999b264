// The API as the responders' app uses it: JSON both ways (or multipart/form-data up, for photos),
// the session's CSRF token on every POST
// (cookie and header names from the server's configuration), an Idempotency-Key per action — fresh,
// or the one the outbox (queue.js) made when the action was queued, sent again on every retry (the
// server keeps the answer with it: a request repeated by a flaky network runs once) — and the
// server's own words when it refuses (a 4xx's `detail`, or DRF's field messages).
//
// Every call resolves to {ok, status, data, message}; a network failure resolves too, with
// status 0 and the fallback message. Nothing here touches the page.
//
// Types: `data` is whatever JSON came back (`any`): a caller names what it reads with the API's
// generated types (frontend/types/api.d.ts, scripts/api-types), e.g.
// `/** @type {WorkItem[]} */ (result.data)`, so that a field renamed on the server fails `tsc`.

/**
 * An answer of the API: `ok` for a 2xx; `status` 0 when the network failed; `data` the JSON body (or
 * null); `message` the server's words (or the fallback) when not ok, else "".
 * @typedef {{ok: boolean, status: number, data: any, message: string}} ApiResult
 */

/**
 * What a POST sends beside its body: the Idempotency-Key (default: a fresh one) and more headers.
 * @typedef {{key?: string, headers?: Record<string, string>}} SendOptions
 */

/**
 * A cookie's value from a `document.cookie` string, or "".
 * @param {string | null | undefined} cookies
 * @param {string} name
 */
export function cookieValue(cookies, name) {
  for (const part of String(cookies || "").split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) {
      return decodeURIComponent(rest.join("="));
    }
  }
  return "";
}

/**
 * @param {unknown} value
 * @returns {string[]}
 */
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

/**
 * The server's message in a refusal's body: `detail`, else every field message; else `fallback`.
 * @param {any} data the refusal's JSON body
 * @param {string} fallback
 */
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

/**
 * A URL template's "{id}" filled in.
 * @param {string} template
 * @param {string | number} id
 */
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
 * A multipart body: each field of `fields` (scalars; null and undefined left out), then each photo
 * record ({name, type, blob}) as one more `fileField` — the repeated field the server reads as a
 * list. The files go as they are (no re-encoding: their EXIF stays).
 * @param {Record<string, unknown>} fields
 * @param {{name: string, blob: Blob}[]} [files]
 * @param {{fileField?: string, FormDataImpl?: typeof FormData}} [options]
 */
export function formDataOf(fields, files = [], { fileField = "photos", FormDataImpl = globalThis.FormData } = {}) {
  const form = new FormDataImpl();
  for (const [name, value] of Object.entries(fields)) {
    if (value !== null && value !== undefined) form.append(name, String(value));
  }
  for (const file of files) {
    form.append(fileField, file.blob, file.name);
  }
  return form;
}

/**
 * createApi({csrf: {cookie, header}, fallback, fetchImpl, cookies}) → {get(url), post(url, body),
 * postForm(url, formData)}. `cookies()` returns the document's cookie string (the CSRF token
 * rotates at login). `post(url, body, {key, headers})` and `postForm(url, formData, {key, headers})`
 * send `key` as the Idempotency-Key (default: a fresh one) and `headers` beside it (the outbox's
 * X-GridLink-Member). `postForm` sets no Content-Type: the browser writes multipart/form-data with
 * its boundary.
 * @param {object} options
 * @param {{cookie: string, header: string}} options.csrf the CSRF cookie's and header's names
 * @param {string} options.fallback the message when the server's words are missing
 * @param {(input: string, init: RequestInit) => Promise<{ok: boolean, status: number, text(): Promise<string>}>} [options.fetchImpl]
 * @param {() => string} options.cookies the document's cookie string, read at each call
 */
export function createApi({ csrf, fallback, fetchImpl = globalThis.fetch.bind(globalThis), cookies }) {
  /**
   * @param {"GET" | "POST"} method
   * @param {string} url
   * @param {unknown} [body]
   * @param {string} [key]
   * @param {FormData} [form]
   * @param {Record<string, string>} [extra]
   * @returns {Promise<ApiResult>}
   */
  async function call(method, url, body, key, form, extra = {}) {
    /** @type {Record<string, string>} */
    const headers = { ...extra, Accept: "application/json" };
    if (method !== "GET") {
      if (!form) headers["Content-Type"] = "application/json";
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
        body: form || (body === undefined ? undefined : JSON.stringify(body)),
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
    /** @param {string} url */
    get: (url) => call("GET", url),
    /** @param {string} url @param {unknown} [body] @param {SendOptions} [options] */
    post: (url, body = {}, { key, headers } = {}) => call("POST", url, body, key, undefined, headers),
    /** @param {string} url @param {FormData} formData @param {SendOptions} [options] */
    postForm: (url, formData, { key, headers } = {}) => call("POST", url, undefined, key, formData, headers),
  };
}
