// The responders' app's outbox: every action the member takes goes through a persistent FIFO queue
// (IndexedDB), so that an action taken where the signal is poor is kept on the phone and sent when
// the connection returns. Online, an action is sent at once and its answer comes back as before.
//
// Each entry: {id, key, url, body, label, orderId, action, said, queuedAt, attempts, lastError,
// lastStatus, failures, nextAttemptAt}. The `key` — the request's Idempotency-Key — is made ONCE,
// when the action is queued, and sent again on every retry: the server answers a repeat with the
// first answer and changes nothing, so an action whose answer was lost is never applied twice.
//
// Sending: the oldest entry first, one at a time; a later entry waits for every earlier one (the
// actions on one case keep their order). The answer decides:
//   - 2xx: done, the entry leaves the queue;
//   - another 4xx: refused (e.g. the case was resolved meanwhile), it leaves the queue and the
//     refusal is reported (`onSettled`) to be shown on the card;
//   - no answer (status 0): kept, tried again at the next chance (the phone comes online, the app
//     becomes visible, or every ~20 s);
//   - 5xx, 401/403 (signed out, the session's CSRF token), 408, 429: kept, tried again with a
//     growing delay (20 s doubling, at most 5 min, jittered).
// Nothing is ever dropped after a number of failures: an entry leaves only with a server's answer.
//
// Storage is injectable ({all, add, put, remove}): `indexedDbStore` on the phone, `memoryStore` in
// the tests and where IndexedDB is not available (then the queue lasts as long as the page).
//
// A small promise wrapper over IndexedDB rather than the `idb` package: the queue needs four calls on
// one object store, and serving an npm package's ES modules to the page would need one more
// STATICFILES_DIRS mapping (config/settings.py) and one more vendor file in the offline shell.

export const RETRY_MS = 20_000;
export const MAX_BACKOFF_MS = 5 * 60_000;
const STORE = "actions";

/** The delay before the next regular try: 20 s ± 25 %, so that phones do not retry in step. */
export function retryDelayMs(random = Math.random) {
  return Math.round(RETRY_MS * (0.75 + 0.5 * random()));
}

/** The delay after the `failures`-th answer in a row that asks to wait: 20 s doubling, ≤ 5 min, ± 25 %. */
export function backoffMs(failures, random = Math.random) {
  const base = Math.min(RETRY_MS * 2 ** Math.max(0, failures - 1), MAX_BACKOFF_MS);
  return Math.round(base * (0.75 + 0.5 * random()));
}

/**
 * What an answer means for its entry: "done" (2xx), "refused" (4xx), "offline" (no answer), "wait".
 * A 403 is ambiguous: a signed-out session or a CSRF failure (DRF's body has no `code`: wait for a
 * new login) or the service's refusal (our domain errors carry a `code`, e.g. a member stood down
 * while offline: "forbidden") — a refusal leaves the queue, or it would hold every later action.
 */
export function verdict(status, data = null) {
  if (status >= 200 && status < 300) return "done";
  if (status === 0) return "offline";
  if (status === 403 && data && typeof data === "object" && typeof data.code === "string") return "refused";
  if (status >= 500 || [401, 403, 408, 429].includes(status)) return "wait";
  if (status >= 400) return "refused";
  return "wait"; // 1xx/3xx: not an answer to an action
}

const clone = (value) => (typeof structuredClone === "function" ? structuredClone(value) : JSON.parse(JSON.stringify(value)));

/** An in-memory store with IndexedDB's semantics: ids given in order, entries listed by id. */
export function memoryStore() {
  const rows = new Map();
  let next = 1;
  return {
    async all() {
      return [...rows.values()].sort((a, b) => a.id - b.id).map(clone);
    },
    async add(entry) {
      const id = next++;
      rows.set(id, clone({ ...entry, id }));
      return id;
    },
    async put(entry) {
      rows.set(entry.id, clone(entry));
      return entry.id;
    },
    async remove(id) {
      rows.delete(id);
    },
  };
}

/** The queue in IndexedDB database `name` (one object store, ids auto-incremented: FIFO by id). */
export function indexedDbStore({ name, indexedDB = globalThis.indexedDB }) {
  let opened = null;

  function open() {
    if (!opened) {
      opened = new Promise((resolve, reject) => {
        if (!indexedDB) {
          reject(new Error("no IndexedDB"));
          return;
        }
        const request = indexedDB.open(name, 1);
        request.onupgradeneeded = () => {
          request.result.createObjectStore(STORE, { keyPath: "id", autoIncrement: true });
        };
        request.onsuccess = () => {
          const db = request.result;
          db.onversionchange = () => db.close();
          resolve(db);
        };
        request.onerror = () => reject(request.error);
        request.onblocked = () => reject(new Error("IndexedDB blocked"));
      });
      opened.catch(() => {
        opened = null; // try again next time
      });
    }
    return opened;
  }

  async function run(mode, operation) {
    const db = await open();
    return new Promise((resolve, reject) => {
      const transaction = db.transaction(STORE, mode);
      const request = operation(transaction.objectStore(STORE));
      transaction.oncomplete = () => resolve(request.result);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error || new Error("IndexedDB transaction aborted"));
    });
  }

  return {
    open,
    all: () => run("readonly", (store) => store.getAll()),
    add: (entry) => run("readwrite", (store) => store.add(entry)),
    put: (entry) => run("readwrite", (store) => store.put(entry)),
    remove: (id) => run("readwrite", (store) => store.delete(id)),
  };
}

/** IndexedDB when it opens, else an in-memory store (private modes of some browsers). */
export async function persistentStore(options) {
  const store = indexedDbStore(options);
  try {
    await store.open();
    await store.all();
    return store;
  } catch {
    return memoryStore();
  }
}

/**
 * createQueue({store, send(entry) → {ok, status, data, message}, newKey(), now, random, lock(fn),
 * onChange(entries), onSettled(entry, result, {awaited})}) →
 * {add(action), flush(), entries(), start(timers), stop()}.
 *
 * `store` may be a promise of a store. `lock(fn)` runs one sending pass at a time across the app's
 * tabs (navigator.locks); the server's idempotency keeps a race harmless anyway.
 */
export function createQueue({
  store,
  send,
  newKey,
  now = Date.now,
  random = Math.random,
  lock = (fn) => fn(),
  onChange = () => {},
  onSettled = () => {},
}) {
  const ready = Promise.resolve(store);
  const awaiting = new Set(); // ids an add() of this page waits for
  const settled = new Map(); // id → the answer, for those
  let running = null;
  let again = false;
  let timer = null;
  let timers = null;

  async function changed() {
    onChange(await (await ready).all());
  }

  // One pass: send from the head until the queue is empty or an entry must wait.
  async function pass() {
    const s = await ready;
    for (;;) {
      const [head] = await s.all();
      if (!head) return "empty";
      if (head.nextAttemptAt && head.nextAttemptAt > now()) return "waiting";
      let result;
      try {
        result = await send(head);
      } catch (error) {
        result = { ok: false, status: 0, data: null, message: String(error?.message || error) };
      }
      const outcome = verdict(result.status, result.data);
      if (outcome === "done" || outcome === "refused") {
        await s.remove(head.id);
        const waited = awaiting.has(head.id);
        if (waited) settled.set(head.id, result);
        await changed();
        onSettled(head, result, { awaited: waited });
        continue;
      }
      const failures = (head.failures || 0) + (outcome === "wait" ? 1 : 0);
      await s.put({
        ...head,
        attempts: (head.attempts || 0) + 1,
        lastError: result.message || "",
        lastStatus: result.status,
        failures,
        nextAttemptAt: outcome === "wait" ? now() + backoffMs(failures, random) : 0,
      });
      await changed();
      return "stopped";
    }
  }

  /** Send what waits, in order; resolves when this (and any pass asked for meanwhile) is over. */
  function flush() {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        let last;
        do {
          again = false;
          last = await lock(pass);
        } while (again && last === "empty");
      } finally {
        running = null;
      }
    })();
    return running;
  }

  return {
    /**
     * Queue an action ({url, body, label, orderId, action, said}) and try to send it (after every
     * earlier one). Resolves {queued: false, result, entry} when the server answered it, or
     * {queued: true, entry} when it waits on the phone.
     */
    async add(action) {
      const s = await ready;
      const entry = {
        key: newKey(),
        url: action.url,
        body: action.body ?? {},
        label: action.label || "",
        orderId: action.orderId ?? null,
        action: action.action || "",
        said: action.said || "",
        queuedAt: now(),
        attempts: 0,
        lastError: "",
        lastStatus: null,
        failures: 0,
        nextAttemptAt: 0,
      };
      entry.id = await s.add(entry);
      awaiting.add(entry.id);
      try {
        await changed();
        await flush(); // a pass already under way goes on to this entry if it gets that far
        if (settled.has(entry.id)) {
          return { queued: false, result: settled.get(entry.id), entry };
        }
        return { queued: true, entry };
      } finally {
        awaiting.delete(entry.id);
        settled.delete(entry.id);
      }
    },
    flush,
    entries: async () => (await ready).all(),
    /** Try again every ~20 s (jittered). `timers`: {setTimeout, clearTimeout}. */
    start(timerImpl = globalThis) {
      timers = timerImpl;
      const schedule = () => {
        timer = timers.setTimeout(async () => {
          await flush();
          if (timer !== null) schedule();
        }, retryDelayMs(random));
      };
      if (timer === null) schedule();
      changed();
      return flush();
    },
    stop() {
      if (timer !== null && timers) timers.clearTimeout(timer);
      timer = null;
    },
  };
}
