// The one store of the responders' app: what the server said last (the member and their orders),
// the selected order, each order's last notice and the open form. The refresh (and, later, the
// member's socket) writes it; the views render from it.

/** createStore(initial) → {get(), set(patch), subscribe(fn)}; `set` merges and notifies. */
export function createStore(initial) {
  let state = { ...initial };
  const listeners = new Set();
  return {
    get: () => state,
    set(patch) {
      state = { ...state, ...patch };
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
