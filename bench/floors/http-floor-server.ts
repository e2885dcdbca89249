/**
 * The HTTP floor: a bare fastify route that receives the same bodies as the service (the JSON row,
 * parsed by fastify's default JSON parser; the PNG, collected as a Buffer) and answers a fixed small
 * JSON. No schema, no logger, no hooks: what fastify itself costs on this machine for these bodies.
 *
 * Run by the bench as its own process: `node --import tsx bench/floors/http-floor-server.ts PORT`.
 */
import Fastify from "fastify";
import { LOOPBACK } from "../load/target.js";
import { FLOOR_HEALTH_PATH, FLOOR_PATH } from "./http-floor-contract.js";

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write(`usage: http-floor-server.ts PORT (got ${JSON.stringify(process.argv[2])})\n`);
  process.exit(2);
}

const app = Fastify({ logger: false });
// fastify parses JSON and text by default; an image body only needs collecting.
app.addContentTypeParser(["image/png"], { parseAs: "buffer" }, (_request, body, done) => done(null, body));

const answer = { ok: true };
app.post(FLOOR_PATH, async () => answer);
app.get(FLOOR_HEALTH_PATH, async () => answer);

await app.listen({ host: LOOPBACK, port });
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => void app.close().then(() => process.exit(0)));
}
