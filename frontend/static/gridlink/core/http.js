// The API as the pages call it: JSON in and out, the session's cookie, Django's CSRF token on
// every write (from the csrftoken cookie, else the page's csrfmiddlewaretoken input). A request
// resolves to {ok, status, data} whatever the status; it rejects only when the network fails.

/**
 * A typed answer of the API: `ok` for a 2xx, the HTTP `status`, `data` the JSON body or null. `data`
 * is `any`: the caller names what it reads with the API's generated types (frontend/types/api.d.ts),
 * e.g. a cast of `result.data` to `IncidentDetail`, so that a renamed field fails `tsc`.
 * @typedef {{ok: boolean, status: number, data: any}} ApiResult
 */

/**
 * @param {string} name
 * @returns {string | null}
 */
function cookie(name) {
  const parts = document.cookie ? document.cookie.split(";") : [];
  for (const raw of parts) {
    const part = raw.trim();
    if (part.substring(0, name.length + 1) === `${name}=`) {
      return decodeURIComponent(part.substring(name.length + 1));
    }
  }
  return null;
}

function csrfToken() {
  const input = /** @type {HTMLInputElement | null} */ (document.querySelector("input[name=csrfmiddlewaretoken]"));
  return cookie("csrftoken") || (input ? input.value : "");
}

/**
 * `url` (relative to the page's origin) with `params` set, leaving out undefined, null and "".
 * @param {string} url
 * @param {Record<string, unknown> | null} [params]
 * @returns {string}
 */
export function withParams(url, params) {
  const full = new URL(url, window.location.origin);
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") full.searchParams.set(key, String(value));
  }
  return full.toString();
}

/**
 * @param {string} method
 * @param {string} url
 * @param {unknown} [body]
 * @returns {Promise<ApiResult>}
 */
async function request(method, url, body) {
  /** @type {Record<string, string>} */
  const headers = { Accept: "application/json" };
  if (method !== "GET") {
    headers["Content-Type"] = "application/json";
    headers["X-CSRFToken"] = csrfToken();
  }
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const raw = await response.text();
  /** @type {any} */
  let data;
  try {
    data = raw ? JSON.parse(raw) : null;
  } catch {
    data = null;
  }
  return { ok: response.ok, status: response.status, data };
}

/**
 * GET `url` with query `params` → {ok, status, data}.
 * @param {string} url
 * @param {Record<string, unknown> | null} [params]
 */
export function get(url, params) {
  return request("GET", withParams(url, params));
}

/**
 * POST `body` (default {}) as JSON to `url` → {ok, status, data}.
 * @param {string} url
 * @param {unknown} [body]
 */
export function post(url, body) {
  return request("POST", url, body || {});
}

/**
 * @param {unknown} value
 * @returns {string}
 */
function flatten(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") {
    const record = /** @type {Record<string, unknown>} */ (value);
    return Object.keys(record).map((k) => flatten(record[k])).join(" ");
  }
  return String(value);
}

/**
 * The server's message of a refused request — {"detail", "code"} or DRF's field errors
 * {field: [msg]} — as {message, fields}; `fallback` when the answer says nothing.
 * @param {ApiResult | null | undefined} result
 * @param {string} fallback
 * @returns {{message: string, fields: Record<string, string>}}
 */
export function errorMessages(result, fallback) {
  const data = result && result.data;
  /** @type {string[]} */
  let messages = [];
  /** @type {Record<string, string>} */
  const fields = {};
  if (data && typeof data === "object" && !Array.isArray(data)) {
    if (data.detail) {
      messages.push(String(data.detail));
      if (data.code) fields[data.code] = String(data.detail);
    }
    for (const key of Object.keys(data)) {
      if (key === "detail" || key === "code") continue;
      const value = data[key];
      const text = Array.isArray(value) ? value.map(flatten).join(" ") : flatten(value);
      if (text) {
        fields[key] = text;
        messages.push(text);
      }
    }
  } else if (Array.isArray(data)) {
    messages = data.map(flatten);
  }
  if (!messages.length) messages.push(fallback);
  return { message: messages.join(" "), fields };
}

/**
 * A GeoJSON Feature as a row: its properties with `id` and `lonLat` added.
 * @param {any} feature
 * @returns {Record<string, any>}
 */
function featureRow(feature) {
  /** @type {Record<string, any>} */
  const row = { ...(feature.properties || {}) };
  if (row.id === undefined && feature.id !== undefined) row.id = feature.id;
  const geometry = feature.geometry;
  row.lonLat = geometry && geometry.type === "Point" ? geometry.coordinates : null;
  return row;
}

/**
 * A list answer in any of the shapes DRF gives — a FeatureCollection, a page, a plain list — as
 * rows; features are flattened to their properties with `id` and `lonLat` added. `any`: the
 * caller names the row's type (e.g. a Feature's properties with `id` and `lonLat`).
 * @param {any} data
 * @returns {any[]}
 */
export function rows(data) {
  if (!data) return [];
  if (data.type === "FeatureCollection") return data.features.map(featureRow);
  if (Array.isArray(data.results)) return rows(data.results);
  if (data.results && data.results.type === "FeatureCollection") return rows(data.results);
  if (Array.isArray(data)) return data.map((/** @type {any} */ item) => (item && item.type === "Feature" ? featureRow(item) : item));
  return [];
}

/**
 * [lon, lat] of a GeoJSON Point, a Feature, a pair, or an object with lon/lat or location; else null.
 * @param {any} value
 * @returns {number[] | null}
 */
export function lonLatOf(value) {
  if (!value) return null;
  if (Array.isArray(value) && value.length >= 2) return [Number(value[0]), Number(value[1])];
  if (value.type === "Point" && value.coordinates) return value.coordinates;
  if (value.type === "Feature") return lonLatOf(value.geometry);
  if (value.lon !== undefined && value.lat !== undefined && value.lon !== null) {
    return [Number(value.lon), Number(value.lat)];
  }
  if (value.location) return lonLatOf(value.location);
  return null;
}

/**
 * An API URL template of the page's configuration ("/api/v1/…/{id}/…") with `id` filled in.
 * @param {string} template
 * @param {string | number} id
 * @returns {string}
 */
export function url(template, id) {
  return String(template).replace("{id}", encodeURIComponent(id));
}
