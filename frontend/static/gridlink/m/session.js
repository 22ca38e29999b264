// Logging out of a phone that a shift shares: what the next member must not find on it.
//
// The service worker's caches (sw.js) hold the app shell — static modules, CSS, icons, Leaflet,
// which stay for the next member's offline start — and the page /m/ itself, which carries the
// member's name and configuration, as would any API answer. Those are deleted on logout. The
// outbox is not: its entries record their member and wait for them (queue.js).
//
// Everything the browser provides is passed in: node --test runs this module (session.test.mjs).

export const CACHE_PREFIX = "gridlink-m-"; // sw.js's caches

/**
 * Whether a cached URL holds a member's data: the app's page (`scope`, any query) or an API
 * answer. The shell's static files, the manifest and other origins' do not.
 */
export function holdsMemberData(url, { scope, origin }) {
  const parsed = new URL(url, origin);
  if (parsed.origin !== new URL(origin).origin) return false;
  const page = new URL(scope, origin).pathname;
  return parsed.pathname === page || parsed.pathname.startsWith("/api/");
}

/** Delete what holds member data from the app's caches (`cachesImpl`: window.caches). Returns the URLs deleted. */
export async function clearMemberCaches(cachesImpl, { scope, origin }) {
  if (!cachesImpl) return [];
  const deleted = [];
  for (const name of await cachesImpl.keys()) {
    if (!name.startsWith(CACHE_PREFIX)) continue;
    const cache = await cachesImpl.open(name);
    for (const request of await cache.keys()) {
      if (holdsMemberData(request.url, { scope, origin })) {
        await cache.delete(request);
        deleted.push(request.url);
      }
    }
  }
  return deleted;
}

/** `promise`, or `fallback` after `ms` (a logout must not hang on a network that never answers). */
export function within(promise, ms, fallback = undefined, setTimer = setTimeout) {
  return Promise.race([promise, new Promise((resolve) => setTimer(() => resolve(fallback), ms))]);
}
