// The responders' app's HTTP layer (m/api.js; the department queue, the planners' page and the
// ranking's publish button use it too): JSON both ways, the session's CSRF token and an
// Idempotency-Key on every POST, the server's words on a refusal, and a network failure or a
// proxy's HTML page resolved (never thrown) with the fallback message.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createApi } from "../static/gridlink/m/api.js";

const CSRF = { cookie: "csrftoken", header: "X-CSRFToken" };

/** A fetch that records each request and answers `answers` in turn ({status, body} or an Error). */
function fakeFetch(...answers) {
  const calls = [];
  const fetchImpl = async (url, init) => {
    calls.push({ url, ...init });
    const answer = answers.shift();
    if (answer instanceof Error) throw answer;
    const { status = 200, body = "" } = answer;
    return { ok: status >= 200 && status < 300, status, text: async () => body };
  };
  return { calls, fetchImpl };
}

function apiWith(fetchImpl, cookies = "csrftoken=abc%3D1; other=x") {
  return createApi({ csrf: CSRF, fallback: "网络不可用", fetchImpl, cookies: () => cookies });
}

test("GET asks for JSON, same-origin and uncached, with no CSRF token or key", async () => {
  const { calls, fetchImpl } = fakeFetch({ status: 200, body: '{"now": "2026-12-04T08:00:00+08:00"}' });
  const result = await apiWith(fetchImpl).get("/api/v1/m/work/");
  assert.deepEqual(result, { ok: true, status: 200, data: { now: "2026-12-04T08:00:00+08:00" }, message: "" });
  assert.equal(calls[0].method, "GET");
  assert.deepEqual(calls[0].headers, { Accept: "application/json" });
  assert.equal(calls[0].credentials, "same-origin");
  assert.equal(calls[0].cache, "no-store");
  assert.equal(calls[0].body, undefined);
});

test("POST sends JSON with the cookie's CSRF token (read at each call) and a fresh key each time", async () => {
  const { calls, fetchImpl } = fakeFetch({ status: 201, body: "{}" }, { status: 201, body: "{}" });
  let cookies = "csrftoken=before";
  const api = createApi({ csrf: CSRF, fallback: "x", fetchImpl, cookies: () => cookies });
  await api.post("/a/", { action: "accept" });
  cookies = "csrftoken=after%20login"; // rotated at login: the next POST sends the new one
  await api.post("/a/");
  assert.equal(calls[0].headers["Content-Type"], "application/json");
  assert.equal(calls[0].headers["X-CSRFToken"], "before");
  assert.equal(calls[1].headers["X-CSRFToken"], "after login");
  assert.equal(calls[0].body, '{"action":"accept"}');
  assert.equal(calls[1].body, "{}"); // the default body
  const [first, second] = calls.map((c) => c.headers["Idempotency-Key"]);
  assert.match(first, /^m-[0-9a-f]{32}$/);
  assert.notEqual(first, second);
});

test("the outbox's key and member header go as given", async () => {
  const { calls, fetchImpl } = fakeFetch({ status: 200, body: "" });
  const result = await apiWith(fetchImpl).post("/a/", {}, { key: "m-queued", headers: { "X-GridLink-Member": "7" } });
  assert.equal(calls[0].headers["Idempotency-Key"], "m-queued");
  assert.equal(calls[0].headers["X-GridLink-Member"], "7");
  assert.equal(calls[0].headers.Accept, "application/json"); // never overridden by the extra headers
  assert.deepEqual(result, { ok: true, status: 200, data: null, message: "" }); // an empty body is null
});

test("postForm leaves the Content-Type to the browser (multipart boundary) and sends the form", async () => {
  const { calls, fetchImpl } = fakeFetch({ status: 201, body: '{"id": 3}' });
  const form = new FormData();
  form.append("text", "到场");
  const result = await apiWith(fetchImpl).postForm("/report/", form, { key: "m-photo" });
  assert.equal(calls[0].body, form);
  assert.equal("Content-Type" in calls[0].headers, false);
  assert.equal(calls[0].headers["X-CSRFToken"], "abc=1");
  assert.equal(calls[0].headers["Idempotency-Key"], "m-photo");
  assert.deepEqual(result.data, { id: 3 });
});

test("a refusal carries the server's words: `detail`, else the field messages", async () => {
  const { fetchImpl } = fakeFetch(
    { status: 409, body: '{"detail": "工单已被改派。", "code": "conflict"}' },
    { status: 400, body: '{"text": ["请填写内容。"], "photos": ["最多三张。"]}' },
  );
  const api = apiWith(fetchImpl);
  assert.deepEqual(await api.post("/a/"), {
    ok: false, status: 409, data: { detail: "工单已被改派。", code: "conflict" }, message: "工单已被改派。",
  });
  assert.equal((await api.post("/a/")).message, "请填写内容。 最多三张。");
});

test("a proxy's HTML error page and a network failure resolve with the fallback message", async () => {
  const { fetchImpl } = fakeFetch({ status: 502, body: "<html>Bad Gateway</html>" }, new TypeError("Failed to fetch"));
  const api = apiWith(fetchImpl);
  assert.deepEqual(await api.get("/a/"), { ok: false, status: 502, data: null, message: "网络不可用" });
  assert.deepEqual(await api.post("/a/"), { ok: false, status: 0, data: null, message: "网络不可用" });
});
