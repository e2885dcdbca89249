/**
 * Records what the program registers, including what the mocks API hides (protect, parent,
 * provider, dependencies, secretness), by decorating the mock monitor's registerResource: the
 * RegisterResourceRequest the SDK sends carries all of it.
 */
import * as runtimeRpc from "@pulumi/pulumi/runtime/rpc.js";
import * as settings from "@pulumi/pulumi/runtime/settings.js";
import type { RenderedResource } from "./types.js";

const SECRET_SIG = runtimeRpc.specialSecretSig;
const SIG_KEY = runtimeRpc.specialSigKey;

interface RegisterResourceRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getProvider(): string;
  getProtect(): boolean;
  getDependenciesList(): string[];
  getIgnorechangesList(): string[];
  getObject(): Parameters<typeof runtimeRpc.deserializeProperties>[0];
}
interface RegisterResourceResponse {
  getUrn(): string;
}
type Callback = (err: unknown, response?: RegisterResourceResponse) => void;
interface Monitor {
  registerResource(req: RegisterResourceRequest, callback: Callback): Promise<void>;
}

function isSecretWrapper(value: unknown): value is { value: unknown } {
  return (
    typeof value === "object" && value !== null && (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG
  );
}

/** Unwraps secret markers, collecting the path of every secret value. */
function unwrap(value: unknown, path: string, secretPaths: string[]): unknown {
  if (isSecretWrapper(value)) {
    secretPaths.push(path);
    return unwrap(value.value, path, []);
  }
  if (Array.isArray(value)) return value.map((item, index) => unwrap(item, `${path}[${index}]`, secretPaths));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => [
        key,
        unwrap(inner, path ? `${path}.${key}` : key, secretPaths),
      ]),
    );
  }
  return value;
}

/** `urn:...::name::id` provider reference -> the provider's URN. */
function providerUrn(reference: string): string | undefined {
  if (!reference) return undefined;
  return reference.slice(0, reference.lastIndexOf("::"));
}

/** Starts recording on the current mock monitor (call after setMocks); returns the live list. */
export function recordRegistrations(): RenderedResource[] {
  const recorded: RenderedResource[] = [];
  const monitor = settings.getMonitor() as unknown as Monitor;
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) =>
    register(req, (err, response) => {
      if (!err && response) {
        const secretPaths: string[] = [];
        const inputs = unwrap(runtimeRpc.deserializeProperties(req.getObject()), "", secretPaths) as Record<
          string,
          unknown
        >;
        recorded.push({
          urn: response.getUrn(),
          type: req.getType(),
          name: req.getName(),
          inputs,
          protect: req.getProtect(),
          ...(req.getParent() ? { parent: req.getParent() } : {}),
          ...(providerUrn(req.getProvider()) ? { provider: providerUrn(req.getProvider()) } : {}),
          dependencies: [...new Set(req.getDependenciesList())],
          ...(req.getIgnorechangesList().length > 0 ? { ignoreChanges: req.getIgnorechangesList() } : {}),
          secretInputs: [...new Set(secretPaths.map((path) => path.split(/[.[]/, 1)[0] ?? path))],
          secretPaths,
        });
      }
      callback(err, response);
    });
  return recorded;
}
