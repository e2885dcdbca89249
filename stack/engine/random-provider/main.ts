/**
 * plinth's `pulumi-resource-random`: the engine launches it like any provider plugin (argv: flags,
 * then the engine address) and reads the gRPC port from its first stdout line, which
 * @pulumi/pulumi's provider `main` prints.
 *
 *   node --import <tsx loader> stack/engine/random-provider/main.ts [flags] <engine address>
 */
import pulumiProvider from "@pulumi/pulumi/provider/index.js";
import { randomProvider } from "./provider.js";
import { installedSdkVersion } from "../sdk-version.js";

pulumiProvider
  .main(randomProvider(installedSdkVersion("@pulumi/random")), process.argv.slice(2))
  .catch((error: unknown) => {
    process.stderr.write(
      `pulumi-resource-random (plinth): ${error instanceof Error ? error.stack : String(error)}\n`,
    );
    process.exit(1);
  });
