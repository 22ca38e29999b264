// The responders' app's service worker, served as /m/sw.js?v=<version> so that its scope is /m/.
//
// It keeps the app shell for an offline start: on install it reads shell.json (beside it: the
// version and the URLs of the page, its modules, CSS, icon and Leaflet) and caches them all, or
// fails the install (never half a shell). The version — a hash of the shell's files — is in the
// worker's URL, so a changed file registers a new worker with a new cache; the old caches go on
// activation.
//
// Fetches: the page (a navigation) network first, cached again on success, the cached page when
// the network fails; the shell's other files cache first; everything else — the API above all —
// goes to the network untouched. Actions taken offline are kept by the page's outbox (queue.js, in
// IndexedDB) and sent when the page sees the connection return, not by this worker.

const VERSION = new URL(self.location.href).searchParams.get("v") || "dev";
const PREFIX = "gridlink-m-";
const CACHE = PREFIX + VERSION;
const SCOPE = self.registration.scope; // the page's URL, /m/

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const answer = await fetch(new URL("shell.json", self.location.href), { cache: "no-store" });
      if (!answer.ok) {
        throw new Error("shell.json: " + answer.status);
      }
      const shell = await answer.json();
      const cache = await caches.open(CACHE);
      await cache.addAll(shell.urls.map((url) => new Request(url, { cache: "reload" })));
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith(PREFIX) && name !== CACHE) {
          await caches.delete(name);
        }
      }
      await self.clients.claim();
    })(),
  );
});

const page = async (request) => {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok && !response.redirected && response.type === "basic") {
      await cache.put(SCOPE, response.clone());
    }
    return response;
  } catch (error) {
    const cached = await cache.match(SCOPE);
    if (cached) {
      return cached;
    }
    throw error;
  }
};

const shellFile = async (request) => {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request, { ignoreVary: true });
  return cached || fetch(request);
};

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") {
    return;
  }
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) {
    return;
  }
  if (request.mode === "navigate" && url.href.split(/[?#]/)[0] === SCOPE) {
    event.respondWith(page(request));
  } else if (!url.pathname.startsWith("/api/")) {
    event.respondWith(shellFile(request));
  }
});
