// Sharing the phone's position with the command room (the positions API), and reading it once for
// an arrival.
//
// The phone reports fixes as often as it likes; a fix is *kept* when KEEP_SECONDS passed or the
// phone moved KEEP_METRES since the last kept one (a responder standing still sends one fix every
// 15 s, one on an e-bike one every ~10 m). Kept fixes are sent in batches to POST positions/ as
// WGS 84 (what the browser's geolocation gives) with their accuracy: at once for the first, then
// every `sendSeconds`, or sooner when twenty wait. A batch that fails on the network or the server
// stays for the next send; one the server refuses as bad (400) is dropped, with its message.
//
// Sharing is the member's choice (a toggle, remembered in localStorage, on by default) and is
// paused while they are off duty — unless they hold a live order, since a member sent although off
// duty is working. Times are the phone's, corrected by the server's clock (`clockOffset`), since
// the server refuses fixes from its future.
//
// Everything the browser provides (geolocation, storage, timers, the sender) is passed in, so that
// node --test runs this module without a browser.

export const KEEP_SECONDS = 15;
export const KEEP_METRES = 10;
const EARTH_RADIUS_M = 6371008.8;
const SEND_AT_ONCE = 20; // kept fixes waiting that trigger a send before the timer
const MAX_WAITING = 2000; // the oldest are dropped beyond this (a phone offline for hours)
const MAX_AGE_MS = 23 * 3600 * 1000; // the server takes fixes up to 24 h old

const rad = (deg) => (deg * Math.PI) / 180;

/** Great-circle distance in metres between two {lon, lat} (degrees). */
export function distanceMetres(a, b) {
  const dLat = rad(b.lat - a.lat);
  const dLon = rad(b.lon - a.lon);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Whether `fix` is kept after `last` (the last kept fix, or null): `seconds` passed or `metres` moved. */
export function shouldKeep(last, fix, { seconds = KEEP_SECONDS, metres = KEEP_METRES } = {}) {
  if (!last) {
    return true;
  }
  return fix.at - last.at >= seconds * 1000 || distanceMetres(last, fix) >= metres;
}

/** A fix {lon, lat, accuracy, at} from a browser GeolocationPosition; `at` corrected by the offset. */
export function fixOf(position, clockOffsetMs = 0) {
  const c = position.coords;
  return {
    lon: c.longitude,
    lat: c.latitude,
    accuracy: Number.isFinite(c.accuracy) ? c.accuracy : null,
    at: position.timestamp + clockOffsetMs,
  };
}

/** One item of the positions API's batch. */
export function positionItem(fix, member) {
  return {
    member,
    at: new Date(fix.at).toISOString(),
    lon: Math.round(fix.lon * 1e7) / 1e7,
    lat: Math.round(fix.lat * 1e7) / 1e7,
    accuracy_m: fix.accuracy === null ? null : Math.round(fix.accuracy * 10) / 10,
    datum: "WGS84",
  };
}

/** The phone's position now (a fresh fix), or null when it cannot be read in time. */
export function currentFix(geolocation, { timeoutMs = 15000, maximumAgeMs = 10000, clockOffsetMs = 0 } = {}) {
  if (!geolocation) {
    return Promise.resolve(null);
  }
  return new Promise((resolve) => {
    geolocation.getCurrentPosition(
      (position) => resolve(fixOf(position, clockOffsetMs)),
      () => resolve(null),
      { enableHighAccuracy: true, timeout: timeoutMs, maximumAge: maximumAgeMs },
    );
  });
}

/**
 * The position sharing of one member. Options: geolocation, storage (localStorage-like),
 * storageKey, memberId, send(items) → Promise<{ok, status, message}>, onChange(), clockOffset() →
 * ms, keep {seconds, metres}, sendSeconds, allowed (the user's role may post positions), timers
 * ({setInterval, clearInterval}), now() → ms.
 */
export function createSharing(options) {
  const {
    geolocation,
    storage,
    storageKey,
    memberId,
    send,
    onChange = () => {},
    clockOffset = () => 0,
    keep = {},
    sendSeconds = 30,
    allowed = true,
    timers = globalThis,
    now = () => Date.now(),
  } = options;
  let wanted = readWanted();
  let active = false; // on duty, or holding a live order
  let watchId = null;
  let timer = null;
  let denied = false;
  let refused = null; // the server's message when it refuses this member's positions
  let lastFix = null;
  let lastKept = null;
  let lastSentAt = null;
  let waiting = [];
  let sending = null; // the send in flight (a promise), or null
  let sentOnce = false;
  let lastError = null;
  let stopped = false; // for good: the member logs out

  function readWanted() {
    try {
      return storage?.getItem(storageKey) !== "0";
    } catch {
      return true;
    }
  }

  function status() {
    if (!allowed) return "notAllowed";
    if (!geolocation) return "unavailable";
    if (!wanted) return "off";
    if (!active) return "paused";
    if (denied) return "denied";
    if (refused !== null) return "refused";
    if (lastSentAt !== null) return "on";
    return lastFix ? "onNotSent" : "waiting";
  }

  function shouldWatch() {
    return allowed && Boolean(geolocation) && wanted && active && !denied && refused === null && !stopped;
  }

  function update() {
    if (shouldWatch() && watchId === null) {
      watchId = geolocation.watchPosition(onPosition, onError, {
        enableHighAccuracy: true,
        maximumAge: 5000,
        timeout: 60000,
      });
      timer = timers.setInterval(flush, sendSeconds * 1000);
    } else if (!shouldWatch() && watchId !== null) {
      geolocation.clearWatch(watchId);
      timers.clearInterval(timer);
      watchId = null;
      timer = null;
      flush();
    }
    onChange();
  }

  function onPosition(position) {
    const fix = fixOf(position, clockOffset());
    lastFix = fix;
    if (shouldKeep(lastKept, fix, keep)) {
      lastKept = fix;
      waiting.push(positionItem(fix, memberId));
      if (waiting.length > MAX_WAITING) {
        waiting = waiting.slice(-MAX_WAITING);
      }
      if (!sentOnce || waiting.length >= SEND_AT_ONCE) {
        flush();
      }
    }
    onChange();
  }

  function onError(error) {
    if (error && error.code === 1) {
      // PERMISSION_DENIED: the user (or the browser's settings) said no; asking again is pointless.
      denied = true;
      update();
    }
  }

  function flush() {
    const oldest = now() - MAX_AGE_MS;
    waiting = waiting.filter((item) => Date.parse(item.at) >= oldest);
    if (sending) {
      return sending; // one send at a time; what waits goes with the next
    }
    if (waiting.length === 0) {
      return Promise.resolve();
    }
    const batch = waiting.slice();
    sentOnce = true;
    sending = Promise.resolve()
      .then(() => send(batch))
      .then(
        (result) => {
          if (result.ok) {
            lastSentAt = now();
            lastError = null;
            waiting = waiting.slice(batch.length);
          } else if (result.status === 403 || result.status === 404) {
            refused = result.message || "";
            waiting = [];
          } else if (result.status >= 400 && result.status < 500) {
            lastError = result.message || "";
            waiting = waiting.slice(batch.length); // refused as bad: sending it again changes nothing
          } else {
            lastError = result.message || "";
          }
        },
        () => {
          lastError = "";
        },
      )
      .finally(() => {
        sending = null;
        if (refused !== null) {
          update();
        } else {
          onChange();
        }
      });
    return sending;
  }

  const sharing = {
    /** Turn sharing on or off (remembered). */
    setWanted(value) {
      wanted = Boolean(value);
      try {
        storage?.setItem(storageKey, wanted ? "1" : "0");
      } catch {
        // private mode: the choice lasts for this page only
      }
      update();
    },
    toggle() {
      sharing.setWanted(!wanted);
    },
    /** On duty or holding a live order: sharing runs (if wanted). */
    setActive(value) {
      active = Boolean(value);
      update();
    },
    flush,
    /**
     * Stop for good (the member logs out): no more fixes; resolves when what was kept is sent.
     * `{send: false}`: what was kept is dropped unsent (the session is another member's now).
     */
    stop({ send = true } = {}) {
      stopped = true;
      if (!send) waiting = [];
      update();
      return flush();
    },
    state() {
      return { status: status(), wanted, active, lastFix, lastSentAt, waiting: waiting.length, refused, lastError };
    },
    lastFix: () => lastFix,
  };
  return sharing;
}
