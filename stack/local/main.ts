/**
 * `npm run stack:local`: starts the local stack on its default loopback ports (or `--random-ports`),
 * serving the bundled model or, with `--stack-file`, a stack file's models from a registry folder
 * (`--registry`), behind Traefik (the cluster's Gateway controller, the default) or nginx
 * (`--edge nginx`, the Ingress path), prints where everything is and how to sign in, streams every
 * process's log with its name in front, and on Ctrl-C or SIGTERM stops everything and removes the
 * temporary folder.
 */
import { parseArgs } from "node:util";
import {
  ADMIN_GROUP,
  ALLOWED_EMAIL_DOMAIN,
  DEFAULT_PORTS,
  EDGES,
  MLFLOW_HOST,
  OPS_READ_GROUP,
  startLocalStack,
  type LocalStack,
} from "./stack.js";

const { values } = parseArgs({
  options: {
    "random-ports": { type: "boolean", default: false },
    "no-access-log": { type: "boolean", default: false },
    edge: { type: "string", default: "traefik" },
    "stack-file": { type: "string" },
    registry: { type: "string" },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  process.stdout.write(
    "usage: npm run stack:local [-- [--edge traefik|nginx] [--random-ports] [--no-access-log] [--stack-file FILE] [--registry DIR]]\n" +
      "  --edge EDGE        the proxy at the edge: traefik (default; the cluster's Gateway API controller,\n" +
      "                     with the middlewares its routes carry) or nginx (configured as ingress-nginx)\n" +
      "  --stack-file FILE  serve the models of a stack file (e.g. Pulumi.staging.yaml), one service\n" +
      "                     process each, routed, scraped and alerted on as the cluster does\n" +
      "                     (default: the bundled model, with the production stack's alert rules)\n" +
      "  --registry DIR     the local registry folder the services read every model from\n" +
      "                     (PLINTH_REGISTRY_DIR; default: the repository's models/)\n" +
      "  --random-ports     free ports at random instead of the defaults\n" +
      "  --no-access-log    no access log at the edge\n" +
      `default ports: ${JSON.stringify(DEFAULT_PORTS)}\n` +
      "  (a stack file's other models: the service and metrics ports + 1, + 2, ... in its order)\n",
  );
  process.exit(0);
}
const edge = values.edge as (typeof EDGES)[number];
if (!EDGES.includes(edge)) {
  process.stderr.write(`stack:local: --edge must be one of ${EDGES.join(", ")}; got ${values.edge}\n`);
  process.exit(2);
}

function summary(stack: LocalStack): string {
  const { users } = stack;
  return `
plinth local stack is up (Ctrl-C stops everything)

  HTTPS (${stack.edge}, TLS) ${stack.origin}        CA: ${stack.caFile}
  HTTP                 http://127.0.0.1:${stack.ports.http}  -> ${stack.edge === "nginx" ? "308" : "301 (GET) / 308"} to HTTPS
  admin panel          ${stack.origin}/admin      (sign in through oauth2-proxy)
  API docs             ${stack.origin}/docs
  Prometheus           ${stack.urls.prometheus}
  MLflow               ${stack.urls.mlflow}${
    stack.urls.mlflowThroughEdge === undefined
      ? ""
      : `\n  MLflow via the edge  ${stack.urls.mlflowThroughEdge}/  (sign in; admin group only; ${MLFLOW_HOST} is loopback in a browser)`
  }
  OIDC issuer          ${stack.urls.oidcIssuer}
  edge access log      ${stack.accessLogFile}

  API key (x-api-key)  ${stack.apiKey}
  admin user           ${users.allowed.email}  password ${users.allowed.password}  (group ${ADMIN_GROUP}: admin)
  read-only user       ${users.reader.email}  password ${users.reader.password}  (group ${OPS_READ_GROUP}: GET /ops/summary only)
  user in no group     ${users.ungrouped.email}  password ${users.ungrouped.password}  (domain ${ALLOWED_EMAIL_DOMAIN}, no role group: refused, 403)
  other user           ${users.other.email}  password ${users.other.password}  (another domain: refused, 403)

${models(stack)}

  curl --cacert ${stack.caFile} -H "x-api-key: ${stack.apiKey}" ${stack.origin}/v2/models/${stack.defaultModel}
`;
}

/** One line per served model: its paths through the edge, its process and its Prometheus label. */
function models(stack: LocalStack): string {
  return Object.entries(stack.services)
    .map(([model, service]) => {
      const where =
        model === stack.defaultModel
          ? `/predict, /v2, ..., /models/${model}/...`
          : `/models/${model}/..., /v2/models/${model}`;
      // Operator pages by name: each process's own model (a shared process's first) has them.
      const lead = service.processName === `service:${model}` || model === stack.defaultModel;
      const admin = lead ? `, admin ${stack.origin}/models/${model}/admin` : "";
      return (
        `  model ${model.padEnd(14)} ${where}${admin}  ` +
        `(process ${service.processName} on ${service.port}, metrics ${service.metricsPort}, service="${service.metricsService}")`
      );
    })
    .join("\n");
}

const log = (line: string) => process.stdout.write(`${line}\n`);
let stack: LocalStack | undefined;
let stopping = false;
const shutdown = (signal: string) => {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`\nstack:local: ${signal}, stopping every process\n`);
  // During startup the processes are stopped as soon as startLocalStack returns (below).
  if (stack !== undefined) void stack.stop().finally(() => process.exit(0));
};
process.once("SIGINT", () => shutdown("SIGINT"));
process.once("SIGTERM", () => shutdown("SIGTERM"));
process.once("exit", () => stack?.kill());

try {
  stack = await startLocalStack({
    log,
    accessLog: !values["no-access-log"],
    edge,
    ...(values["stack-file"] === undefined ? {} : { stackFile: values["stack-file"] }),
    ...(values.registry === undefined ? {} : { registryDir: values.registry }),
    ...(values["random-ports"] ? {} : { ports: DEFAULT_PORTS }),
  });
  if (stopping) {
    await stack.stop();
    process.exit(0);
  }
  process.stdout.write(summary(stack));
} catch (err) {
  process.stderr.write(`stack:local: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
