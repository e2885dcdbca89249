/**
 * `npm start`: the inference service. Reads and validates the environment (a bad setting stops
 * the process naming the variable), generates a local API key when none is configured, serves
 * the stable model from the registry, and shuts down gracefully on SIGTERM.
 */
import { randomBytes } from "node:crypto";
import pino from "pino";
import { ROLES } from "./auth/roles.js";
import { ConfigError, ENV, hashApiKey, loadConfig, type ServiceConfig } from "./config.js";
import { buildServer } from "./server/build.js";
import { exitOnSignals, startService } from "./server/lifecycle.js";

function readConfig(): ServiceConfig {
  try {
    return loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

/**
 * With no API key and no JWT configured, a fresh machine would refuse every request: generate a
 * key for this process, print it once, and keep only its hash. Whoever started the process owns it,
 * so the key carries every role (reload, the admin panel, forcing a variant).
 */
function withLocalKey(config: ServiceConfig): ServiceConfig {
  if (config.auth.apiKeys.length > 0 || config.auth.jwt !== undefined) return config;
  const key = randomBytes(24).toString("base64url");
  process.stdout.write(
    `\nNo ${ENV.API_KEY_HASHES}, ${ENV.API_KEYS} or JWT settings: generated a local API key for this process:\n\n` +
      `  x-api-key: ${key}\n\n` +
      `  curl -H 'x-api-key: ${key}' http://${config.host}:${config.port}/metadata\n\n`,
  );
  return {
    ...config,
    auth: { ...config.auth, apiKeys: [{ identity: "local", sha256: hashApiKey(key), roles: ROLES }] },
  };
}

const config = withLocalKey(readConfig());
const log = pino({ level: config.logLevel });
try {
  const service = await buildServer(config, { logger: log });
  const running = await startService(service, log);
  exitOnSignals(running, log, config.shutdownTimeoutMs);
} catch (err) {
  log.fatal({ err }, "the service could not start");
  process.exit(1);
}
