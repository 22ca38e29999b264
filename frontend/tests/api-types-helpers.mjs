// What the type-check tests share (api_types.test.mjs, wall_types.test.mjs): where the generated
// types and tsc are, a schema's field renamed in a copy of the types, and a tsc run.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const FRONTEND = fileURLToPath(new URL("..", import.meta.url));
export const API_TYPES = join(FRONTEND, "types", "api.d.ts");
const TSC = join(FRONTEND, "node_modules", "typescript", "bin", "tsc");

/** The reason to skip when types/api.d.ts was not generated, else false. */
export const missing = existsSync(API_TYPES) ? false : "types/api.d.ts is not generated: run `npm run types` (npm run check does)";

/** The generated types with `field` of schema `schema` renamed to `renamed`; throws if not found. */
export function renamedField(source, schema, field, renamed) {
  const start = source.indexOf(`\n        ${schema}: {\n`);
  assert.notEqual(start, -1, `schema ${schema} not in types/api.d.ts`);
  const end = source.indexOf("\n        };\n", start);
  const block = source.slice(start, end);
  const pattern = new RegExp(`^(\\s+(?:readonly )?)${field}(\\??:)`, "m");
  assert.match(block, pattern, `field ${schema}.${field} not in types/api.d.ts`);
  return source.slice(0, start) + block.replace(pattern, `$1${renamed}$2`) + source.slice(end);
}

/** tsc on `project` (a directory or a tsconfig file): its exit status and output. */
export function tsc(project) {
  const run = spawnSync(process.execPath, [TSC, "-p", project, "--pretty", "false"], { encoding: "utf8" });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}
