/**
 * HTTP request metrics: one counter and one duration histogram sample per response, labelled with
 * the route template (never the raw URL), method, status and the model variant that served it.
 */
import type { FastifyInstance } from "fastify";
import { LabelledCache, type ServiceMetrics } from "./registry.js";

/** The route label of every request that matched no route, so 404 scans cannot grow the series. */
export const NOT_FOUND_ROUTE = "not_found";

export function installHttpMetrics(app: FastifyInstance, metrics: ServiceMetrics): void {
  const children = new LabelledCache((labels) => ({
    requests: metrics.httpRequests.cell(...labels),
    duration: metrics.httpRequestDuration.cell(...labels),
  }));
  app.addHook("onResponse", (request, reply, done) => {
    // Node's HTTP parser accepts only a fixed set of methods, so `method` is bounded as well.
    const route = request.is404 ? NOT_FOUND_ROUTE : (request.routeOptions.url ?? NOT_FOUND_ROUTE);
    const served = request.servedBy;
    const variant = served?.variant ?? "";
    const version = served?.version ?? "";
    const status = reply.statusCode;
    const key = `${route} ${request.method} ${status} ${variant} ${version}`;
    const child = children.get(key, () => [route, request.method, String(status), variant, version]);
    child.requests.inc();
    child.duration.observe(reply.elapsedTime / 1000);
    done();
  });
}
