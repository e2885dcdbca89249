/**
 * plinth's `pulumi-language-nodejs`: the Node.js language host the Pulumi CLI launches to run
 * programs and policy packs (Pulumi's own host is a Go binary whose module cannot be fetched here).
 * Plugin protocol: serve gRPC on a loopback port, print the port alone on the first stdout line.
 *
 *   node --import <tsx loader> stack/engine/language-host/main.ts [flags] <engine address>
 */
import { parseHostArgs } from "./host-args.js";
import { stopAllChildren } from "./child-processes.js";
import { grpc, languageGrpc } from "./proto.js";
import { logRequest } from "./request-log.js";
import { languageRuntimeService } from "./service.js";

// The engine sends whole programs' resource graphs through this process; allow large messages
// (the same limit @pulumi/pulumi uses for its own gRPC servers).
const MAX_MESSAGE_BYTES = 400 * 1024 * 1024;

async function main(): Promise<void> {
  logRequest("argv", { argv: process.argv.slice(2), cwd: process.cwd() });
  const hostArgs = parseHostArgs(process.argv.slice(2));
  const server = new grpc.Server({
    "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
    "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
  });
  server.addService(languageGrpc.LanguageRuntimeService, languageRuntimeService(hostArgs));
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, boundPort) =>
      error ? reject(error) : resolve(boundPort),
    );
  });
  process.stdout.write(`${port}\n`);

  // The CLI starts each plugin in its own process group and stops it with SIGINT to that group
  // (SIGKILL 5 s later): the host ends at once, its programs and plugins with it. (A terminal's
  // Ctrl-C goes to the CLI's group only; the CLI cancels through the Cancel RPC.)
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      stopAllChildren("SIGTERM");
      server.forceShutdown();
      process.exit(0);
    });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `pulumi-language-nodejs (plinth): ${error instanceof Error ? error.stack : String(error)}\n`,
  );
  process.exit(1);
});
