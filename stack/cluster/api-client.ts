/**
 * A minimal Kubernetes API client over node:https: JSON in and out, the bearer token and CA of a
 * kubeconfig, nothing else. Enough for the cluster's readiness checks and for tests; no client
 * library, no dependency.
 */
import { Agent, request } from "node:https";
import { readKubeconfig, type KubeconfigParts } from "./kubeconfig.js";

export interface ApiResponse<T = unknown> {
  readonly status: number;
  /** The parsed JSON body, or undefined when the body is not JSON. */
  readonly body: T;
  readonly text: string;
}

export interface RequestOptions {
  /** @default "application/json" (merge patches: "application/merge-patch+json") */
  readonly contentType?: string;
  /** @default 10000 */
  readonly timeoutMs?: number;
}

/** A response other than 2xx: carries the status and the API's Status message. */
export class KubeApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly reason: string,
  ) {
    super(`${method} ${path}: ${status} ${reason}`);
  }
}

export class KubeApi {
  private readonly agent: Agent;
  private readonly url: URL;

  constructor(private readonly parts: KubeconfigParts) {
    this.url = new URL(parts.server);
    this.agent = new Agent({ ca: parts.caPem, keepAlive: true, maxSockets: 8 });
  }

  static fromKubeconfig(text: string): KubeApi {
    return new KubeApi(readKubeconfig(text));
  }

  /** The same server and CA with another bearer token (e.g. a service account's). */
  withToken(token: string): KubeApi {
    return new KubeApi({ ...this.parts, token });
  }

  request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    options: RequestOptions = {},
  ): Promise<ApiResponse<T>> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          agent: this.agent,
          host: this.url.hostname,
          port: this.url.port,
          method,
          path,
          timeout: options.timeoutMs ?? 10_000,
          headers: {
            accept: "application/json",
            authorization: `Bearer ${this.parts.token}`,
            ...(payload === undefined
              ? {}
              : {
                  "content-type": options.contentType ?? "application/json",
                  "content-length": Buffer.byteLength(payload),
                }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("error", reject);
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let parsed: unknown;
            try {
              parsed = JSON.parse(text);
            } catch {
              parsed = undefined;
            }
            resolve({ status: res.statusCode ?? 0, body: parsed as T, text });
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${path}: no answer in time`)));
      req.on("error", reject);
      req.end(payload);
    });
  }

  /** Like request, but a non-2xx answer is thrown as a KubeApiError. */
  async expectOk<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    options?: RequestOptions,
  ): Promise<T> {
    const response = await this.request<T>(method, path, body, options);
    if (response.status < 200 || response.status > 299) {
      const status = response.body as { message?: string } | undefined;
      throw new KubeApiError(method, path, response.status, status?.message ?? response.text.slice(0, 500));
    }
    return response.body;
  }

  get<T = unknown>(path: string): Promise<T> {
    return this.expectOk<T>("GET", path);
  }

  post<T = unknown>(path: string, body: unknown): Promise<T> {
    return this.expectOk<T>("POST", path, body);
  }

  /** JSON merge patch. */
  patch<T = unknown>(path: string, body: unknown): Promise<T> {
    return this.expectOk<T>("PATCH", path, body, { contentType: "application/merge-patch+json" });
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }
}
