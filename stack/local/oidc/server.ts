/**
 * Entry point of the local OIDC provider process: `node --import tsx stack/local/oidc/server.ts
 * <settings.json>`. Listens on 127.0.0.1 only; SIGTERM closes it.
 */
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { createOidcHandler, oidcSettingsSchema } from "./provider.js";

const file = process.argv[2];
if (file === undefined) {
  process.stderr.write("usage: server.ts <settings.json>\n");
  process.exit(2);
}
const settings = oidcSettingsSchema.parse(JSON.parse(await readFile(file, "utf8")));
const server = createServer(await createOidcHandler(settings));
server.listen(settings.port, "127.0.0.1", () => {
  process.stdout.write(`issuer ${settings.issuer} ready (${settings.users.length} users)\n`);
});
process.once("SIGTERM", () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
