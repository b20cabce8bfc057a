// `node --import ./tests/record-packages.mjs ...` appends the name of each package the process imports
// (from ES modules) to the file $MEMN2N_RECORD_PACKAGES, one line each.
import { register } from "node:module";

const hooks = `
import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  const m = /\\/node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(r.url);
  if (m) appendFileSync(process.env.MEMN2N_RECORD_PACKAGES, m[1] + "\\n");
  return r;
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
