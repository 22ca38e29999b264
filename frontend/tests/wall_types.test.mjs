// The wall's modules (static/wall/) are type-checked against the API's generated types as the
// pages' are (tests/api_types.test.mjs): a field the wall reads, renamed in a copy of
// types/api.d.ts, fails tsc where the wall reads it — the socket's event (store.js), the card's
// timeline (store.js, card.js) and the replayed day (replay-model.js).
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { FRONTEND, missing, renamedField, tsc } from "./api-types-helpers.mjs";

let dir = null;
after(() => dir && rmSync(dir, { recursive: true, force: true }));

test("a renamed field fails the type check of the wall's modules where they read it", { skip: missing }, () => {
  // frontend/'s layout, in a temporary directory (the types are changed there, not here).
  dir = mkdtempSync(join(tmpdir(), "gridlink-wall-types-"));
  const frontend = join(dir, "frontend");
  for (const part of ["tsconfig.json", "package.json", "types", "static/gridlink", "static/wall"]) {
    cpSync(join(FRONTEND, part), join(frontend, part), { recursive: true });
  }
  symlinkSync(join(FRONTEND, "node_modules"), join(frontend, "node_modules"), "dir");
  // Only the wall (and the core modules it imports), to keep the run short.
  const project = join(frontend, "tsconfig.wall.json");
  writeFileSync(project, JSON.stringify({ extends: "./tsconfig.json", include: ["static/wall/**/*.js", "types/**/*.d.ts"] }));

  const before = tsc(project);
  assert.equal(before.status, 0, `the wall fails with the real types:\n${before.output}`);

  const types = join(frontend, "types", "api.d.ts");
  let source = readFileSync(types, "utf8");
  source = renamedField(source, "WallEvent", "incident", "case");
  source = renamedField(source, "WallIncidentCard", "timeline", "history");
  source = renamedField(source, "ReplayIncident", "statuses", "changes");
  writeFileSync(types, source);
  const renamed = tsc(project);
  assert.notEqual(renamed.status, 0, "tsc passed with the wall's fields renamed");
  const error = (file, property) =>
    new RegExp(`static/wall/${file}\\(\\d+,\\d+\\): error TS2339: Property '${property}' does not exist on type`);
  assert.match(renamed.output, error("store\\.js", "incident"));
  assert.match(renamed.output, error("card\\.js", "timeline"));
  assert.match(renamed.output, error("replay-model\\.js", "statuses"));
});
