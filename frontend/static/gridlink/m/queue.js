// The responders' app's outbox: every action the member takes goes through a persistent FIFO queue
// (IndexedDB), so that an action taken where the signal is poor is kept on the phone and sent when
// the connection returns. Online, an action is sent at once and its answer comes back as before.
//
// Each entry: {id, key, url, body, files, label, orderId, action, said, memberId, memberName,
// queuedAt, attempts, lastError, lastStatus, failures, nextAttemptAt, released}. The `key` — the
// request's Idempotency-Key — is made ONCE, when the action is queued, and sent again on every
// retry: the server answers a repeat with the first answer and changes nothing, so an action whose
// answer was lost is never applied twice. `files`: the photos of a report ({name, type, size,
// blob}: Blobs are stored in IndexedDB as they are); with files the entry is sent as
// multipart/form-data, else as JSON.
//
// Sending: the oldest entry first, one at a time; a later entry waits for every earlier one (the
// actions on one case keep their order). The answer decides:
//   - 2xx: done, the entry leaves the queue;
//   - another 4xx: refused (e.g. the case was resolved meanwhile), it leaves the queue and the
//     refusal is reported (`onSettled`) to be shown on the card;
//   - no answer (status 0): kept, tried again at the next chance (the phone comes online, the app
//     becomes visible, or every ~20 s);
//   - 5xx, 401/403 (signed out, the session's CSRF token), 408, 429: kept, tried again with a
//     growing delay (20 s doubling, at most 5 min, jittered);
//   - 409 `wrong_member`: the browser's session is another member's than the entry's (the header
//     X-GridLink-Member, `memberHeaders`, names the entry's member; the server checks it before
//     anything runs). The entry is kept untouched and the queue sends nothing more
//     (`onWrongMember`): the page reloads under the session's member.
// Nothing is ever dropped after a number of failures: an entry leaves only with a server's answer,
// or when the member discards it (below).
//
// Held entries (`holdOf`), never sent by themselves:
//   - another member's: a phone shared by a shift is logged in by one member at a time, and an
//     action goes only under the login of the member who took it (the server checks the session's
//     member against the entry's X-GridLink-Member). Each entry records its member; the others'
//     wait — in order, untouched — until that member logs in on this phone again, and the bar says
//     only how many wait for whom (`heldSummary`: never their labels). They do not hold up the
//     current member's entries.
//   - a stale one: the server honours an Idempotency-Key for IDEMPOTENCY_KEY_HOURS (14 days) after
//     its first use. An entry queued longer ago than that window minus a margin may have reached
//     the server already with its answer lost; sent again after the key expired it would be
//     applied a second time. So it waits for the member: "send anyway" (`release`) or "discard".
//     Later entries of the same member wait behind it (their order is kept).
//
// Storage is injectable ({all, add, put, remove}): `indexedDbStore` on the phone, `memoryStore` in
// the tests and where IndexedDB is not available (then the queue lasts as long as the page).
//
// One database per phone, OUTBOX. The app first shipped one database per member
// (`gridlink-m-outbox-<member id>`): `migrateLegacyOutboxes` moves their entries into OUTBOX at start
// — stamped with the member of the old database's name, in their order, with their keys — and
// deletes an old database only once everything in it is in the new one.
//
// A small promise wrapper over IndexedDB rather than the `idb` package: the queue needs four calls on
// one object store, and serving an npm package's ES modules to the page would need one more
// STATICFILES_DIRS mapping (config/settings.py) and one more vendor file in the offline shell.

/**
 * The member who is logged in, or who took an action (`id` null: not known).
 * @typedef {{id: number | null, name?: string}} Member
 */

/**
 * A photo of a report, kept as it was taken (its EXIF too).
 * @typedef {{name: string, type: string, size?: number, blob: Blob}} PhotoFile
 */

/**
 * An entry of the outbox (see above). `id` is the store's (FIFO); `key` the Idempotency-Key, made once.
 * @typedef {object} Entry
 * @property {number} id
 * @property {string} key
 * @property {string} url
 * @property {unknown} [body]
 * @property {PhotoFile[]} [files]
 * @property {string} [label]
 * @property {number | null} [orderId]
 * @property {string} [action]
 * @property {string} [said]
 * @property {number | null} [memberId]
 * @property {string} [memberName]
 * @property {number} queuedAt
 * @property {number} [attempts]
 * @property {string} [lastError]
 * @property {number | null} [lastStatus]
 * @property {number} [failures]
 * @property {number} [nextAttemptAt]
 * @property {boolean} [released]
 */

/**
 * Where the entries are kept: IndexedDB (`indexedDbStore`) or memory (`memoryStore`).
 * @typedef {object} OutboxStore
 * @property {boolean} persistent
 * @property {() => Promise<Entry[]>} all
 * @property {(entry: Omit<Entry, "id">) => Promise<number>} add
 * @property {(entry: Entry) => Promise<number>} put
 * @property {(id: number) => Promise<void>} remove
 */

/**
 * What the queue schedules its tries with (the page's globals; fakes in the tests).
 * @typedef {{setTimeout: typeof setTimeout, clearTimeout: typeof clearTimeout}} Timers
 */

/**
 * An action to queue: the request (`url`, `body`, `files`) and what the bar and the card say of it.
 * @typedef {{url: string, body?: unknown, files?: PhotoFile[], label?: string, orderId?: number | null, action?: string, said?: string}} Action
 */

export const OUTBOX = "gridlink-m-outbox";
export const LEGACY_OUTBOX_PREFIX = "gridlink-m-outbox-";
// The request header naming the member who took the action (the server refuses it under another login).
export const MEMBER_HEADER = "X-GridLink-Member";
// The server's refusal of an action sent under another member's login (409, nothing run).
export const WRONG_MEMBER = "wrong_member";
export const RETRY_MS = 20_000;
export const MAX_BACKOFF_MS = 5 * 60_000;
const STORE = "actions";
// An entry is held this long before the server's key window ends (a day, at most half the
// window): the phone's clock may be off, and the server starts the window at the first request.
export const STALE_MARGIN_MS = 24 * 3600_000;

/**
 * After how many ms an entry is stale, for a server honouring keys `keyHours` hours.
 * @param {number} keyHours
 */
export function staleAfterMs(keyHours) {
  const windowMs = keyHours * 3600_000;
  return windowMs - Math.min(STALE_MARGIN_MS, windowMs / 2);
}

/**
 * Why an entry is not sent by itself: "member" (queued under another member's login), "stale"
 * (queued more than staleAfterMs(keyHours) ago and not released by the member), or null.
 * `keyHours` null: no expiry known, never stale.
 * @param {Pick<Entry, "queuedAt"> & Partial<Entry>} entry
 * @param {{memberId: number | null, now: number, keyHours?: number | null}} options
 * @returns {"member" | "stale" | null}
 */
export function holdOf(entry, { memberId, now, keyHours = null }) {
  if ((entry.memberId ?? null) !== (memberId ?? null)) return "member";
  if (!entry.released && keyHours && now - entry.queuedAt >= staleAfterMs(keyHours)) return "stale";
  return null;
}

/**
 * What the bar says of other members' entries: one line per member — whom they wait for and how
 * many — never what they are (a shared phone's next member must not read the case numbers, names
 * and texts of another's actions). [{memberId, name, count}], in the order of their first entry.
 * @param {Entry[] | null | undefined} entries
 * @param {number | null | undefined} memberId
 */
export function heldSummary(entries, memberId) {
  /** @type {Map<number | null, {memberId: number | null, name: string, count: number}>} */
  const groups = new Map();
  for (const entry of entries || []) {
    const id = entry.memberId ?? null;
    if (id === (memberId ?? null)) continue;
    const group = groups.get(id) || { memberId: id, name: "", count: 0 };
    group.count += 1;
    group.name = group.name || entry.memberName || "";
    groups.set(id, group);
  }
  return [...groups.values()];
}

/**
 * The delay before the next regular try: 20 s ± 25 %, so that phones do not retry in step.
 * @param {() => number} [random]
 */
export function retryDelayMs(random = Math.random) {
  return Math.round(RETRY_MS * (0.75 + 0.5 * random()));
}

/**
 * The delay after the `failures`-th answer in a row that asks to wait: 20 s doubling, ≤ 5 min, ± 25 %.
 * @param {number} failures
 * @param {() => number} [random]
 */
export function backoffMs(failures, random = Math.random) {
  const base = Math.min(RETRY_MS * 2 ** Math.max(0, failures - 1), MAX_BACKOFF_MS);
  return Math.round(base * (0.75 + 0.5 * random()));
}

/**
 * The headers an entry is sent with beyond its key: its member (X-GridLink-Member), when known.
 * @param {{memberId?: number | null} | null | undefined} entry
 * @returns {Record<string, string>}
 */
export function memberHeaders(entry) {
  const id = entry?.memberId;
  return id === null || id === undefined ? {} : { [MEMBER_HEADER]: String(id) };
}

/**
 * Whether an answer is the server's "sent under another member's login" (409 `wrong_member`).
 * @param {number} status
 * @param {any} [data] the answer's JSON body (an `Error`, {detail, code}, when refused)
 */
export function isWrongMember(status, data = null) {
  return status === 409 && Boolean(data) && typeof data === "object" && data.code === WRONG_MEMBER;
}

/**
 * What an answer means for its entry: "done" (2xx), "refused" (4xx), "offline" (no answer), "wait".
 * A 403 is ambiguous: a signed-out session or a CSRF failure (DRF's body has no `code`: wait for a
 * new login) or the service's refusal (our domain errors carry a `code`, e.g. a member stood down
 * while offline: "forbidden") — a refusal leaves the queue, or it would hold every later action.
 * A 409 `wrong_member` waits: the action was not looked at, its member must send it (never dropped).
 * @param {number} status
 * @param {any} [data] the answer's JSON body
 * @returns {"done" | "refused" | "offline" | "wait"}
 */
export function verdict(status, data = null) {
  if (status >= 200 && status < 300) return "done";
  if (status === 0) return "offline";
  if (isWrongMember(status, data)) return "wait";
  if (status === 403 && data && typeof data === "object" && typeof data.code === "string") return "refused";
  if (status >= 500 || [401, 403, 408, 429].includes(status)) return "wait";
  if (status >= 400) return "refused";
  return "wait"; // 1xx/3xx: not an answer to an action
}

/** @type {<T>(value: T) => T} */
const clone = (value) => (typeof structuredClone === "function" ? structuredClone(value) : JSON.parse(JSON.stringify(value)));

/**
 * An in-memory store with IndexedDB's semantics: ids given in order, entries listed by id.
 * @returns {OutboxStore}
 */
export function memoryStore() {
  /** @type {Map<number, Entry>} */
  const rows = new Map();
  let next = 1;
  return {
    persistent: false,
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

/**
 * The queue in IndexedDB database `name` (one object store, ids auto-incremented: FIFO by id).
 * @param {{name: string, indexedDB?: IDBFactory}} options
 * @returns {OutboxStore & {open(): Promise<IDBDatabase>}}
 */
export function indexedDbStore({ name, indexedDB = globalThis.indexedDB }) {
  /** @type {Promise<IDBDatabase> | null} */
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

  /**
   * @param {IDBTransactionMode} mode
   * @param {(store: IDBObjectStore) => IDBRequest} operation
   * @returns {Promise<any>} the request's result
   */
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
    persistent: true,
    open,
    all: () => run("readonly", (store) => store.getAll()),
    add: (entry) => run("readwrite", (store) => store.add(entry)),
    put: (entry) => run("readwrite", (store) => store.put(entry)),
    remove: (id) => run("readwrite", (store) => store.delete(id)),
  };
}

/**
 * IndexedDB when it opens, else an in-memory store (private modes of some browsers).
 * @param {{name: string, indexedDB?: IDBFactory}} options
 * @returns {Promise<OutboxStore>}
 */
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
 * The phone's one outbox (`persistentStore`), the old per-member databases moved into it first —
 * only into IndexedDB: an in-memory store would lose them with the page. `lock(fn)`: a lock across
 * the app's tabs (navigator.locks) so that two tabs do not move the same rows — not the queue's
 * sending lock: a sending pass holds that one while it waits for this store.
 * @param {{name?: string, member?: Member | null, indexedDB?: IDBFactory, lock?: (fn: () => Promise<any>) => Promise<any>}} [options]
 */
export async function openOutbox({ name = OUTBOX, member = null, indexedDB = globalThis.indexedDB, lock = (fn) => fn() } = {}) {
  const store = await persistentStore({ name, indexedDB });
  if (store.persistent) {
    try {
      await lock(() => migrateLegacyOutboxes({ legacy: legacyIndexedDb(indexedDB), store, member }));
    } catch {
      // What was not moved stays in its old database, for the next start.
    }
  }
  return store;
}

// ---- the per-member databases of the first release -------------------------------------------------

/**
 * The old per-member outboxes among database `names`: [{name, memberId}], by member id.
 * @param {(string | undefined)[] | null | undefined} names
 * @param {string} [prefix]
 */
export function legacyOutboxes(names, prefix = LEGACY_OUTBOX_PREFIX) {
  /** @type {{name: string, memberId: number}[]} */
  const found = [];
  for (const name of names || []) {
    const match = typeof name === "string" && name.startsWith(prefix) ? /^(\d+)$/.exec(name.slice(prefix.length)) : null;
    if (match) found.push({ name: /** @type {string} */ (name), memberId: Number(match[1]) });
  }
  return found.sort((a, b) => a.memberId - b.memberId);
}

/**
 * An old database's rows as entries of the one outbox: in their order (by id), each with its key,
 * stamped with the member of the database's name (`member.name` when it is the logged-in member,
 * else the name the entry recorded, if any), without the old id (the new database gives one).
 * Entries whose key the outbox holds already (`knownKeys`: a migration cut short before) are left out.
 * @param {any[] | null} rows
 * @param {{memberId: number, member?: Member | null, knownKeys?: Set<string>}} options
 */
export function migratedEntries(rows, { memberId, member = null, knownKeys = new Set() }) {
  const name = member && member.id === memberId ? member.name || "" : "";
  return [...(rows || [])]
    .sort((a, b) => a.id - b.id)
    .filter((row) => !knownKeys.has(row.key))
    .map((row) => {
      const entry = {
        ...row,
        files: row.files ?? [],
        released: row.released ?? false,
        memberId,
        memberName: row.memberName || name,
      };
      delete entry.id; // the one outbox gives its own, in this order
      return entry;
    });
}

/**
 * Move every old per-member outbox into `store` (the one outbox). `legacy`: {list() → names or null
 * (unknown), read(name) → rows or null (no such database), removeRows(name, ids) → how many rows
 * are left, drop(name)}. When the names are unknown (no `indexedDB.databases()`), the logged-in
 * member's old database is looked for. An old database is deleted only after every row of it was
 * added here and removed there; rows written meanwhile (an old page still open) go on the next
 * round. Any failure leaves the rest where it is, for the next start. Returns how many were moved.
 * @param {{legacy: ReturnType<typeof legacyIndexedDb>, store: OutboxStore, member?: Member | null, prefix?: string}} options
 */
export async function migrateLegacyOutboxes({ legacy, store, member = null, prefix = LEGACY_OUTBOX_PREFIX }) {
  let names = await legacy.list();
  if (!names) names = member && member.id !== null && member.id !== undefined ? [`${prefix}${member.id}`] : [];
  let moved = 0;
  for (const { name, memberId } of legacyOutboxes(names, prefix)) {
    for (let round = 0; round < 5; round += 1) {
      const rows = await legacy.read(name);
      if (rows === null) break; // no such database
      const knownKeys = new Set((await store.all()).map((entry) => entry.key));
      for (const entry of migratedEntries(rows, { memberId, member, knownKeys })) {
        await store.add(entry);
        moved += 1;
      }
      if ((await legacy.removeRows(name, rows.map((row) => row.id))) === 0) {
        await legacy.drop(name);
        break;
      }
    }
  }
  return moved;
}

/**
 * @template T
 * @param {IDBRequest<T>} request
 * @returns {Promise<T>}
 */
function idbRequest(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** `migrateLegacyOutboxes`'s `legacy` over IndexedDB (an old database is opened, never created). */
export function legacyIndexedDb(indexedDB = globalThis.indexedDB) {
  /** @param {string} name @returns {Promise<IDBDatabase | null>} */
  function openExisting(name) {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(name);
      let created = false;
      request.onupgradeneeded = (event) => {
        if (event.oldVersion === 0) {
          created = true; // it did not exist: undo the creation
          /** @type {IDBTransaction} */ (request.transaction).abort();
        }
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = (event) => {
        if (created) {
          event.preventDefault();
          resolve(null);
        } else reject(request.error);
      };
      request.onblocked = () => reject(new Error("IndexedDB blocked"));
    });
  }

  /**
   * @template T
   * @param {string} name
   * @param {IDBTransactionMode} mode
   * @param {(store: IDBObjectStore | null) => T | Promise<T>} operation
   * @returns {Promise<T | null>} null when there is no such database
   */
  async function withStore(name, mode, operation) {
    const db = await openExisting(name);
    if (!db) return null;
    try {
      if (!db.objectStoreNames.contains(STORE)) return operation(null);
      return await new Promise((resolve, reject) => {
        const transaction = db.transaction(STORE, mode);
        /** @type {T | undefined} */
        let result;
        Promise.resolve(operation(transaction.objectStore(STORE))).then((value) => {
          result = value;
        }, reject);
        transaction.oncomplete = () => resolve(/** @type {T} */ (result));
        transaction.onerror = () => reject(transaction.error);
        transaction.onabort = () => reject(transaction.error || new Error("IndexedDB transaction aborted"));
      });
    } finally {
      db.close();
    }
  }

  return {
    async list() {
      if (typeof indexedDB?.databases !== "function") return null;
      try {
        return (await indexedDB.databases()).map((info) => info.name);
      } catch {
        return null;
      }
    },
    /** @param {string} name @returns {Promise<any[] | null>} */
    read: (name) => withStore(name, "readonly", (store) => (store ? idbRequest(store.getAll()) : [])),
    /** @param {string} name @param {number[]} ids @returns {Promise<number>} how many rows are left */
    async removeRows(name, ids) {
      const left = await withStore(name, "readwrite", (store) => {
        if (!store) return 0;
        for (const id of ids) store.delete(id);
        return idbRequest(store.count());
      });
      return left ?? 0;
    },
    /** @param {string} name @returns {Promise<void>} */
    drop: (name) => new Promise((resolve, reject) => {
      const request = indexedDB.deleteDatabase(name);
      request.onsuccess = () => resolve();
      request.onerror = () => reject(request.error);
      request.onblocked = () => resolve(); // an old page still has it open: deleted when it closes it
    }),
  };
}

/**
 * createQueue({store, send(entry) → {ok, status, data, message}, newKey(), member: {id, name},
 * keyHours, now, random, lock(fn), onChange(entries), onSettled(entry, result, {awaited}),
 * onWrongMember(entry, result)}) →
 * {add(action), flush(), entries(), hold(entry), release(id), discard(id), start(timers), stop()}.
 *
 * `store` may be a promise of a store. `member`: who is logged in (their entries are sent, the
 * others' held). `keyHours`: how long the server honours a key (null: never stale). `lock(fn)` runs
 * one sending pass at a time across the app's tabs (navigator.locks); the server's idempotency
 * keeps a race harmless anyway. `onChange` gets every entry, the held ones too. `send` is to send
 * `memberHeaders(entry)` with the request: a 409 `wrong_member` answer stops the queue (as `stop`)
 * and calls `onWrongMember`; the entry stays as it was.
 *
 * @param {object} options
 * @param {OutboxStore | Promise<OutboxStore>} options.store
 * @param {(entry: Entry) => Promise<import("./api.js").ApiResult>} options.send
 * @param {() => string} options.newKey
 * @param {Member} [options.member]
 * @param {number | null} [options.keyHours]
 * @param {() => number} [options.now]
 * @param {() => number} [options.random]
 * @param {(fn: () => Promise<any>) => Promise<any>} [options.lock]
 * @param {(entries: Entry[]) => void} [options.onChange]
 * @param {(entry: Entry, result: import("./api.js").ApiResult, how: {awaited: boolean}) => void} [options.onSettled]
 * @param {(entry: Entry, result: import("./api.js").ApiResult) => void} [options.onWrongMember]
 */
export function createQueue({
  store,
  send,
  newKey,
  member = { id: null, name: "" },
  keyHours = null,
  now = Date.now,
  random = Math.random,
  lock = (fn) => fn(),
  onChange = () => {},
  onSettled = () => {},
  onWrongMember = () => {},
}) {
  const ready = Promise.resolve(store);
  const awaiting = new Set(); // ids an add() of this page waits for
  const settled = new Map(); // id → the answer, for those
  /** @type {Promise<void> | null} */
  let running = null;
  let again = false;
  /** @type {ReturnType<typeof setTimeout> | null} */
  let timer = null;
  /** @type {Timers | null} */
  let timers = null;
  let stopped = false; // stop(), or the session is another member's: no pass until start() again

  async function changed() {
    onChange(await (await ready).all());
  }

  const hold = (/** @type {Entry} */ entry) => holdOf(entry, { memberId: member.id, now: now(), keyHours });
  const own = (/** @type {Entry | undefined} */ entry) => entry && (entry.memberId ?? null) === (member.id ?? null);

  // One pass: send from the head of the member's own entries until none is left or one must wait.
  async function pass() {
    const s = await ready;
    for (;;) {
      if (stopped) return "stopped";
      const head = (await s.all()).find(own);
      if (!head) return "empty";
      if (hold(head)) return "held";
      if (head.nextAttemptAt && head.nextAttemptAt > now()) return "waiting";
      let result;
      try {
        result = await send(head);
      } catch (error) {
        result = { ok: false, status: 0, data: null, message: String(/** @type {any} */ (error)?.message || error) };
      }
      if (isWrongMember(result.status, result.data)) {
        // Sent under another member's session: nothing ran. Kept as it is, and nothing more goes
        // from this page (its member is no longer the session's).
        stopped = true;
        stopTimer();
        onWrongMember(head, result);
        return "stopped";
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
    if (stopped) return Promise.resolve();
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

  function stopTimer() {
    if (timer !== null && timers) timers.clearTimeout(timer);
    timer = null;
  }

  return {
    /**
     * Queue an action ({url, body, files, label, orderId, action, said}) and try to send it (after
     * every earlier one). Resolves {queued: false, result, entry} when the server answered it, or
     * {queued: true, entry} when it waits on the phone.
     * @param {Action} action
     */
    async add(action) {
      const s = await ready;
      /** @type {Omit<Entry, "id"> & {id?: number}} */
      const entry = {
        key: newKey(),
        url: action.url,
        body: action.body ?? {},
        files: action.files ?? [],
        label: action.label || "",
        orderId: action.orderId ?? null,
        action: action.action || "",
        said: action.said || "",
        memberId: member.id ?? null,
        memberName: member.name || "",
        queuedAt: now(),
        attempts: 0,
        lastError: "",
        lastStatus: null,
        failures: 0,
        nextAttemptAt: 0,
        released: false,
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
    /** Why `entry` is held ("member", "stale") or null. */
    hold,
    /** "Send anyway": the member's stale entry `id` is sent (with its key) in its turn. */
    /** @param {number} id */
    async release(id) {
      const s = await ready;
      const entry = (await s.all()).find((e) => e.id === id);
      if (!own(entry)) return false;
      await s.put(/** @type {Entry} */ ({ ...entry, released: true, nextAttemptAt: 0 }));
      await changed();
      await flush();
      return true;
    },
    /** "Discard": the member's own entry `id` leaves the queue unsent. Another member's: refused. */
    /** @param {number} id */
    async discard(id) {
      const s = await ready;
      const entry = (await s.all()).find((e) => e.id === id);
      if (!own(entry)) return false;
      await s.remove(id);
      await changed();
      await flush(); // what waited behind it goes now
      return true;
    },
    /**
     * Try again every ~20 s (jittered). `timers`: {setTimeout, clearTimeout}.
     * @param {Timers} [timerImpl]
     */
    start(timerImpl = globalThis) {
      stopped = false;
      timers = timerImpl;
      const schedule = () => {
        timer = /** @type {Timers} */ (timers).setTimeout(async () => {
          await flush();
          if (timer !== null) schedule();
        }, retryDelayMs(random));
      };
      if (timer === null) schedule();
      changed();
      return flush();
    },
    /** No more tries from this page (logging out, another member's session); what waits stays. */
    stop() {
      stopped = true;
      stopTimer();
    },
  };
}
