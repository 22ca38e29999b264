// The one store of the responders' app: what the server said last (the member and their orders),
// the selected order, each order's last notice and the open form. The refresh (and, later, the
// member's socket) writes it; the views render from it.

/**
 * createStore(initial) → {get(), set(patch), subscribe(fn)}; `set` merges and notifies. A page names
 * its state's type on `initial` (a JSDoc cast), so that `set` is checked against it.
 * @template {Record<string, any>} S
 * @param {S} initial
 * @returns {{get(): S, set(patch: Partial<S>): void, subscribe(listener: (state: S) => void): () => boolean}}
 */
export function createStore(initial) {
  /** @type {S} */
  let state = { ...initial };
  const listeners = new Set();
  return {
    get: () => state,
    set(patch) {
      state = /** @type {S} */ ({ ...state, ...patch });
      for (const listener of listeners) {
        listener(state);
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
