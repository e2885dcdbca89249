/**
 * HTTP request metrics: one counter and one duration histogram sample per response, labelled with
 * the route template (never the raw URL), method, status and the model variant that served it.
 */
import type { FastifyInstance } from "fastify";
import { LabelledCache, type ServiceMetrics } from "./registry.js";

/** The route label of every request that matched no route, so 404 scans cannot grow the series. */
export const NOT_FOUND_ROUTE = "not_found";

interface Labels {
  readonly route: string;
  readonly method: string;
  readonly status: number;
  readonly variant: string;
  readonly version: string;
}

export function installHttpMetrics(app: FastifyInstance, metrics: ServiceMetrics): void {
  const children = new LabelledCache((labels) => ({
    requests: metrics.httpRequests.cell(...labels),
    duration: metrics.httpRequestDuration.cell(...labels),
  }));
  const childOf = (labels: Labels) => {
    const { route, method, status, variant, version } = labels;
    const key = `${route} ${method} ${status} ${variant} ${version}`;
    return children.get(key, () => [route, method, String(status), variant, version]);
  };
  // Consecutive responses mostly carry the same labels: compared field by field with the last
  // response's (the same strings), they skip building and hashing a key and allocate nothing
  // (0.3 us a response at saturation).
  let last: { readonly labels: Labels; readonly child: ReturnType<typeof childOf> } | undefined;
  app.addHook("onResponse", (request, reply, done) => {
    // Node's HTTP parser accepts only a fixed set of methods, so `method` is bounded as well.
    const route = request.is404 ? NOT_FOUND_ROUTE : (request.routeOptions.url ?? NOT_FOUND_ROUTE);
    const served = request.servedBy;
    const method = request.method;
    const status = reply.statusCode;
    const variant = served?.variant ?? "";
    const version = served?.version ?? "";
    let current = last;
    if (
      current === undefined ||
      current.labels.route !== route ||
      current.labels.method !== method ||
      current.labels.status !== status ||
      current.labels.variant !== variant ||
      current.labels.version !== version
    ) {
      const labels: Labels = { route, method, status, variant, version };
      current = last = { labels, child: childOf(labels) };
    }
    current.child.requests.inc();
    current.child.duration.observe(reply.elapsedTime / 1000);
    done();
  });
}
