/**
 * A preload (`node --import <data: URL>`) the host gives every program and plugin it starts, against
 * a Node.js bug: `util.inspect(error, { colors: true })` loops until the heap or the maximum string
 * length is exhausted when a stack frame has `node_modules/@scope/<file>` with no directory after the
 * scope (nodejs/node#64011, introduced by #59446 in 20.19.6, fixed by #64022; Node 20.20.2 has it).
 * @pulumi/pulumi's source maps put its own frames exactly there (`node_modules/@pulumi/resource.ts`),
 * and it reports every uncaught program error with a coloured `util.inspect`: measured here, a
 * program that throws spent 30 to 90 s of CPU in that loop before its error was shown.
 *
 * The guard inspects Error values without colours (same text, no ANSI codes); every other call is
 * unchanged. Remove it once the repository's Node.js includes the fix.
 *
 * It is a data: URL so it loads in any program, whatever loader (tsx, ts-node, none) it uses.
 */
const GUARD_SOURCE = `
import util from "node:util";
const inspect = util.inspect;
function inspectErrorsWithoutColors(value, options) {
  if (value instanceof Error && typeof options === "object" && options !== null && options.colors) {
    return inspect(value, { ...options, colors: false });
  }
  return inspect.apply(this, arguments);
}
// inspect.custom, inspect.defaultOptions, inspect.colors and inspect.styles stay reachable.
Object.setPrototypeOf(inspectErrorsWithoutColors, inspect);
util.inspect = inspectErrorsWithoutColors;
`;

/** The node arguments that preload the guard. */
export const INSPECT_GUARD_NODE_ARGS: readonly string[] = [
  "--import",
  `data:text/javascript,${encodeURIComponent(GUARD_SOURCE)}`,
];
