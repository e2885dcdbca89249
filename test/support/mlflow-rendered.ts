/** Checks on the rendered MLflow Deployment shared by the per-cloud suites. */
import { expect } from "vitest";
import { BACKEND_STORE_URI_ENV } from "../../components/mlflow/server-args.js";
import { at, type StackView } from "./stack.js";

/**
 * The server proxies its artifacts (clients get `mlflow-artifacts:` URIs whatever the store) to a
 * destination matching `destination`, and the database password never reaches argv: the
 * backend-store URI comes from a Secret through the environment variable MLflow reads itself.
 */
export function expectProxiedArtifacts(view: StackView, destination: RegExp): void {
  const deployment = view.manifest("Deployment", "mlflow");
  const args = at(deployment, "spec.template.spec.containers[0].args") as string[];
  expect(args).toContain("--serve-artifacts");
  expect(args).not.toContain("--no-serve-artifacts");
  expect(args[args.indexOf("--artifacts-destination") + 1]).toMatch(destination);
  expect(
    args.filter((a) => a.includes("$(") || a.includes("backend-store") || a.includes("postgresql")),
  ).toEqual([]);
  const env = at(deployment, "spec.template.spec.containers[0].env") as {
    name: string;
    valueFrom?: { secretKeyRef?: { key: string } };
  }[];
  expect(env.find((e) => e.name === BACKEND_STORE_URI_ENV)?.valueFrom?.secretKeyRef?.key).toBe("uri");
}

/**
 * The server answers the Host its in-cluster clients send (the tracking URI they are given) and
 * its public host, and browser writes from its own origin: MLflow refuses any other Host with 403.
 */
export function expectClusterHosts(view: StackView, trackingUri: string): void {
  const args = at(view.manifest("Deployment", "mlflow"), "spec.template.spec.containers[0].args") as string[];
  const value = (flag: string) =>
    args
      .find((a) => a.startsWith(`${flag}=`))
      ?.slice(flag.length + 1)
      .split(",");
  // Its route's host: an HTTPRoute on the Gateway path (the default), an Ingress on ingress-nginx's.
  const route = view.manifests().find((m) => m.metadata.name === "mlflow-ingress")!;
  const publicHost = at(
    route,
    route.kind === "Ingress" ? "spec.rules[0].host" : "spec.hostnames[0]",
  ) as string;
  expect(publicHost).toMatch(/^mlflow\./);
  expect(value("--allowed-hosts")).toEqual([
    new URL(trackingUri).host,
    "mlflow.mlflow.svc:5000",
    "mlflow.mlflow:5000",
    publicHost,
  ]);
  expect(new URL(trackingUri).host).toBe("mlflow.mlflow.svc.cluster.local:5000");
  expect(value("--cors-allowed-origins")).toEqual([`https://${publicHost}`]);
}
