// The pages' one store (m/store.js; the department queue and the planners' page use it too):
// `set` merges and notifies every listener with a new state object — the views compare parts of
// the state by identity to skip a redraw — and a listener can leave.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createStore } from "../static/gridlink/m/store.js";

test("set merges the patch into a new state and tells every listener", () => {
  const initial = { work: null, selected: null, notices: {} };
  const store = createStore(initial);
  const seen = [];
  store.subscribe((state) => seen.push(["a", state]));
  store.subscribe((state) => seen.push(["b", state.selected]));
  const before = store.get();
  store.set({ selected: 7 });
  const after = store.get();
  assert.notEqual(after, before); // a new object: views see that something changed
  assert.equal(after.notices, before.notices); // the parts not in the patch keep their identity
  assert.deepEqual(after, { work: null, selected: 7, notices: {} });
  assert.deepEqual(initial, { work: null, selected: null, notices: {} }); // the initial object is not changed
  assert.deepEqual(seen, [["a", after], ["b", 7]]);
});

test("a listener that left is not told again", () => {
  const store = createStore({ n: 0 });
  const seen = [];
  const leave = store.subscribe((state) => seen.push(state.n));
  store.set({ n: 1 });
  leave();
  store.set({ n: 2 });
  assert.deepEqual(seen, [1]);
  assert.equal(store.get().n, 2);
});
