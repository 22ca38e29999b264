// Logging out of a shared phone: the page with the member's data and any API answer leave the
// service worker's caches; the app shell stays for the next member's offline start.
import assert from "node:assert/strict";
import { test } from "node:test";

import { clearMemberCaches, holdsMemberData, within } from "../static/gridlink/m/session.js";

const ORIGIN = "https://gridlink.example";
const WHERE = { scope: "/m/", origin: ORIGIN };

test("the page and API answers hold member data; the shell does not", () => {
  assert.equal(holdsMemberData(`${ORIGIN}/m/`, WHERE), true);
  assert.equal(holdsMemberData(`${ORIGIN}/m/?from=home`, WHERE), true);
  assert.equal(holdsMemberData(`${ORIGIN}/api/v1/m/work/`, WHERE), true);
  assert.equal(holdsMemberData(`${ORIGIN}/static/gridlink/m/app.js`, WHERE), false);
  assert.equal(holdsMemberData(`${ORIGIN}/m/manifest.webmanifest`, WHERE), false);
  assert.equal(holdsMemberData("https://tiles.example/api/1/2/3.png", WHERE), false);
});

test("only the app's caches are touched, only member data deleted", async () => {
  const stores = {
    "gridlink-m-abc": [`${ORIGIN}/m/`, `${ORIGIN}/static/gridlink/m/app.js`, `${ORIGIN}/m/manifest.webmanifest`],
    "other-app": [`${ORIGIN}/m/`],
  };
  const fakeCaches = {
    keys: async () => Object.keys(stores),
    open: async (name) => ({
      keys: async () => stores[name].map((url) => ({ url })),
      delete: async (request) => {
        stores[name] = stores[name].filter((url) => url !== request.url);
        return true;
      },
    }),
  };
  assert.deepEqual(await clearMemberCaches(fakeCaches, WHERE), [`${ORIGIN}/m/`]);
  assert.deepEqual(stores["gridlink-m-abc"], [`${ORIGIN}/static/gridlink/m/app.js`, `${ORIGIN}/m/manifest.webmanifest`]);
  assert.deepEqual(stores["other-app"], [`${ORIGIN}/m/`]);
  assert.deepEqual(await clearMemberCaches(undefined, WHERE), []); // no Cache API (plain HTTP on a LAN)
});

test("a wait that never ends gives up after its time", async () => {
  const fire = [];
  const never = new Promise(() => {});
  const result = within(never, 3000, "gave up", (fn, ms) => fire.push([fn, ms]));
  assert.equal(fire[0][1], 3000);
  fire[0][0]();
  assert.equal(await result, "gave up");
  assert.equal(await within(Promise.resolve("done"), 3000, "gave up", () => {}), "done");
});
