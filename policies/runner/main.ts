/**
 * `npm run policy -- <staging|production> [--cloud aws|gcp|existing]`: renders the stack under the
 * mock runtime, runs every policy, prints the report, and exits 1 on any mandatory violation
 * (2 on a usage or render error).
 */
import { parseArgs } from "node:util";
import { renderStack } from "../../infra/render/index.js";
import type { Cloud, StackName } from "../../infra/render/index.js";
import { formatReport } from "./report.js";
import { CLOUDS, STACKS, checkStack } from "./stack.js";

const USAGE = `usage: npm run policy -- <${STACKS.join("|")}> [--cloud ${CLOUDS.join("|")}]`;

function parse(argv: string[]): { stack: StackName; cloud?: Cloud } {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { cloud: { type: "string" } },
  });
  const [stack, ...rest] = positionals;
  if (!stack || rest.length > 0 || !STACKS.includes(stack as StackName))
    throw new Error(`expected one stack name\n${USAGE}`);
  if (values.cloud !== undefined && !CLOUDS.includes(values.cloud as Cloud)) {
    throw new Error(`--cloud: expected ${CLOUDS.join(", ")}, got "${values.cloud}"\n${USAGE}`);
  }
  return { stack: stack as StackName, ...(values.cloud ? { cloud: values.cloud as Cloud } : {}) };
}

async function main(): Promise<number> {
  let options: { stack: StackName; cloud?: Cloud };
  try {
    options = parse(process.argv.slice(2));
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  const rendered = await renderStack(options).catch((error: Error) => error);
  if (rendered instanceof Error) {
    console.error(`render of ${options.stack} failed:\n${rendered.message}`);
    return 2;
  }
  const violations = await checkStack(rendered);
  console.log(
    `plinth policy report: stack ${rendered.stack}, cloud ${rendered.cloud}, ${rendered.resources.length} resources\n`,
  );
  console.log(formatReport(violations));
  return violations.some((v) => v.level === "mandatory") ? 1 : 0;
}

process.exitCode = await main();
