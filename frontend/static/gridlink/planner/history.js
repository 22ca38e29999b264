// Undo and redo of a draft's edits. Every save the planner makes (a vertex drag with the grids that
// followed, a split, a merge, a rename) is one entry: the grids as they were before it and as they
// are after, each a feature {id, code, name, community, geometry}. Undoing sends a normal save —
// with the draft's current revision, so a colleague's save in between is never overwritten
// silently — that puts the "before" grids back and deletes the grids the entry created; redoing
// does the opposite. A grid deleted by an entry (a merge's second grid) comes back as a new row with
// a new id: `renumber` rewrites the stack with the ids the server gave.
//
// Pure: the stack is data; app.js sends the plans and moves the pointer once the server agrees.

export const LIMIT = 100;

function plan(from, to) {
  const keep = new Set(to.map((grid) => grid.id).filter((id) => id !== null && id !== undefined));
  return {
    upsert: to.map((grid) => ({ ...grid })),
    delete: from.map((grid) => grid.id).filter((id) => id !== null && id !== undefined && !keep.has(id)),
  };
}

/** What undoing `entry` sends: the "before" grids upserted, the ones it created deleted. */
export function undoPlan(entry) {
  return plan(entry.after, entry.before);
}

/** What redoing `entry` sends: the "after" grids upserted, the ones it removed deleted. */
export function redoPlan(entry) {
  return plan(entry.before, entry.after);
}

/** createHistory({limit}) → the stack; `undoable()` / `redoable()` peek, `undone()` / `redone()` move. */
export function createHistory({ limit = LIMIT } = {}) {
  let entries = [];
  let position = 0; // entries[0 .. position) are done, entries[position ..) undone

  return {
    /** A new save: the undone entries are forgotten. */
    push(entry) {
      entries = entries.slice(0, position);
      entries.push(entry);
      if (entries.length > limit) entries = entries.slice(entries.length - limit);
      position = entries.length;
    },
    undoable: () => (position > 0 ? entries[position - 1] : null),
    redoable: () => (position < entries.length ? entries[position] : null),
    undone() {
      if (position > 0) position -= 1;
    },
    redone() {
      if (position < entries.length) position += 1;
    },
    clear() {
      entries = [];
      position = 0;
    },
    /** Rewrite ids (`mapping`: old id → new id) in every entry: a grid recreated by an undo. */
    renumber(mapping) {
      const fix = (grid) => (mapping.has(grid.id) ? { ...grid, id: mapping.get(grid.id) } : grid);
      entries = entries.map((entry) => ({ ...entry, before: entry.before.map(fix), after: entry.after.map(fix) }));
    },
    get size() {
      return { done: position, undone: entries.length - position };
    },
  };
}

/**
 * The ids the server gave to grids a save recreated: `recreated` are the grids sent without an id
 * (they were deleted since), with their old id; `returned` the save's features {id, code}, matched
 * by code. → Map(old id → new id), for `renumber`.
 */
export function newIds(recreated, returned) {
  const mapping = new Map();
  for (const grid of recreated) {
    const found = returned.find((feature) => feature.code === grid.code);
    if (found && found.id !== grid.id) mapping.set(grid.id, found.id);
  }
  return mapping;
}
