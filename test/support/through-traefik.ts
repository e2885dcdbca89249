/** One request to a Traefik entry point for a virtual host (SNI and Host), verified against a CA. */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

export interface EdgeAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** GET `pathname` from the entry point at `url` as `host`, trusting only `caPem` over TLS. */
export function throughTraefik(
  url: string,
  host: string,
  pathname: string,
  caPem: string,
): Promise<EdgeAnswer> {
  const target = new URL(url);
  const send = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      {
        host: target.hostname,
        port: target.port,
        path: pathname,
        headers: { host },
        servername: host,
        ca: caPem,
        timeout: 20_000,
      },
      (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${url}${pathname}: no answer in time`)));
    req.on("error", reject);
    req.end();
  });
}
