/**
 * The promotion gates' way to an in-cluster Prometheus from a CI runner (#18): `kubectl
 * port-forward` through the Kubernetes API with the stack's kubeconfig output. The kubectl here is
 * a stand-in that checks its argv and forwards to a real HTTP server playing Prometheus: kwok's
 * pods on the local control plane cannot serve, so the forward itself is only proven on a real
 * cluster.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PrometheusClient } from "../../infra/promote/prometheus.js";
import {
  forwardedPort,
  openPrometheusTunnel,
  portForwardArgs,
  serviceFromUrl,
} from "../../infra/promote/prometheus-tunnel.js";
import { readWorkflow } from "../workflows/workflow-files.js";

const dir = mkdtempSync(join(tmpdir(), "plinth-tunnel-"));
afterAll(() => {
  for (const pidFile of ["staging", "broken"].map((s) => join(dir, `plinth-${s}-prometheus-forward.pid`))) {
    if (!existsSync(pidFile)) continue;
    try {
      process.kill(Number(readFileSync(pidFile, "utf8")));
    } catch {
      // gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A kubectl stand-in: records its argv, then either fails like kubectl does or serves a tiny
 * Prometheus on a random loopback port and prints kubectl's "Forwarding from" line.
 */
function fakeKubectl(name: string, behaviour: "serve" | "fail"): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    [
      "#!/usr/bin/env node",
      'const { writeFileSync } = require("node:fs");',
      'const http = require("node:http");',
      `writeFileSync(${JSON.stringify(`${path}.argv`)}, JSON.stringify(process.argv.slice(2)));`,
      behaviour === "fail"
        ? 'console.error("error: services \\"kube-prometheus-stack-prometheus\\" not found"); process.exit(1);'
        : [
            "const server = http.createServer((req, res) => {",
            '  if (req.url === "/-/ready") { res.end("Prometheus Server is Ready.\\n"); return; }',
            '  res.setHeader("content-type", "application/json");',
            '  res.end(JSON.stringify({ status: "success", data: { resultType: "vector", result: [{ metric: {}, value: [0, "0.5"] }] } }));',
            "});",
            'server.listen(0, "127.0.0.1", () => console.log(`Forwarding from 127.0.0.1:${server.address().port} -> 9090`));',
          ].join("\n"),
    ].join("\n"),
  );
  chmodSync(path, 0o755);
  return path;
}

const IN_CLUSTER = "http://kube-prometheus-stack-prometheus.monitoring.svc.cluster.local:9090";

describe("serviceFromUrl", () => {
  it("reads namespace, Service and port from every in-cluster spelling, and nothing else", () => {
    const target = { namespace: "monitoring", service: "kube-prometheus-stack-prometheus", port: 9090 };
    expect(serviceFromUrl(IN_CLUSTER)).toEqual(target);
    expect(serviceFromUrl("http://kube-prometheus-stack-prometheus.monitoring.svc:9090")).toEqual(target);
    expect(serviceFromUrl("http://kube-prometheus-stack-prometheus.monitoring:9090")).toEqual(target);
    expect(serviceFromUrl("http://prometheus.obs")).toEqual({
      namespace: "obs",
      service: "prometheus",
      port: 80,
    });
    expect(serviceFromUrl("https://prometheus.ml.example.com")).toBeUndefined();
    expect(serviceFromUrl("http://localhost:9090")).toBeUndefined();
    expect(serviceFromUrl("not a url")).toBeUndefined();
  });
});

describe("portForwardArgs and forwardedPort", () => {
  it("forward a random loopback port to the Service with the stack's kubeconfig, and read the port back", () => {
    expect(
      portForwardArgs({ namespace: "monitoring", service: "prom", port: 9090 }, "/tmp/kubeconfig"),
    ).toEqual([
      "--kubeconfig",
      "/tmp/kubeconfig",
      "port-forward",
      "--namespace",
      "monitoring",
      "--address",
      "127.0.0.1",
      "service/prom",
      ":9090",
    ]);
    expect(forwardedPort("Forwarding from 127.0.0.1:43817 -> 9090\n")).toBe(43817);
    expect(forwardedPort("Forwarding from [::1]:43817 -> 9090\n")).toBeUndefined();
  });
});

describe("openPrometheusTunnel", () => {
  const outputs = async () => ({ prometheusUrl: IN_CLUSTER, kubeconfig: "apiVersion: v1\nkind: Config\n" });

  it("forwards to the stack's Prometheus, waits until it is ready, and hands the URL to the next steps", async () => {
    const kubectl = fakeKubectl("kubectl-serve", "serve");
    const githubEnv = join(dir, "github-env");
    writeFileSync(githubEnv, "");
    const url = await openPrometheusTunnel({
      stack: "staging",
      env: { GITHUB_ENV: githubEnv, RUNNER_TEMP: dir },
      stackOutputs: outputs,
      kubectl,
      timeoutMs: 20_000,
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(readFileSync(githubEnv, "utf8")).toBe(`PROMETHEUS_URL=${url}\n`);
    const kubeconfigPath = join(dir, "plinth-staging-kubeconfig");
    expect(readFileSync(kubeconfigPath, "utf8")).toBe("apiVersion: v1\nkind: Config\n");
    expect(statSync(kubeconfigPath).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(`${kubectl}.argv`, "utf8"))).toEqual(
      portForwardArgs(
        { namespace: "monitoring", service: "kube-prometheus-stack-prometheus", port: 9090 },
        kubeconfigPath,
      ),
    );
    // The gates' own client reads through it.
    expect(await new PrometheusClient({ url }).scalar("up")).toBe(0.5);
  });

  it("passes a PROMETHEUS_URL the runner reaches directly on, and an external prometheusUrl as it is", async () => {
    const githubEnv = join(dir, "github-env-direct");
    writeFileSync(githubEnv, "");
    const never = () => Promise.reject(new Error("must not read outputs"));
    await expect(
      openPrometheusTunnel({
        stack: "staging",
        env: { GITHUB_ENV: githubEnv, PROMETHEUS_URL: "https://prom.example.com" },
        stackOutputs: never,
      }),
    ).resolves.toBe("https://prom.example.com");
    await expect(
      openPrometheusTunnel({
        stack: "staging",
        env: { GITHUB_ENV: githubEnv },
        stackOutputs: async () => ({ prometheusUrl: "https://prometheus.ml.example.com", kubeconfig: "x" }),
      }),
    ).resolves.toBe("https://prometheus.ml.example.com");
    expect(readFileSync(githubEnv, "utf8")).toBe(
      "PROMETHEUS_URL=https://prom.example.com\nPROMETHEUS_URL=https://prometheus.ml.example.com\n",
    );
  });

  it("fails with kubectl's own words when the forward cannot start", async () => {
    await expect(
      openPrometheusTunnel({
        stack: "broken",
        env: { RUNNER_TEMP: dir },
        stackOutputs: outputs,
        kubectl: fakeKubectl("kubectl-fail", "fail"),
        timeoutMs: 10_000,
      }),
    ).rejects.toThrow(
      'kubectl port-forward -n monitoring service/kube-prometheus-stack-prometheus :9090: Prometheus did not answer /-/ready through the forward within 10 s; kubectl exited with 1; kubectl said: error: services "kube-prometheus-stack-prometheus" not found',
    );
  });

  it("says so when kubectl is not on the runner at all", async () => {
    const missing = join(dir, "no-such-kubectl");
    await expect(
      openPrometheusTunnel({
        stack: "bare-runner",
        env: { RUNNER_TEMP: dir },
        stackOutputs: outputs,
        kubectl: missing,
        timeoutMs: 10_000,
      }),
    ).rejects.toThrow(
      `kubectl port-forward -n monitoring service/kube-prometheus-stack-prometheus :9090: ${missing} is not on the runner's PATH (install kubectl, and for GKE gke-gcloud-auth-plugin)`,
    );
  });

  it("refuses a stack with no outputs yet, saying what to do", async () => {
    await expect(
      openPrometheusTunnel({ stack: "staging", env: {}, stackOutputs: async () => ({}) }),
    ).rejects.toThrow("stack staging has no prometheusUrl output: deploy it once, or set PROMETHEUS_URL");
  });
});

describe("deploy-stack.yml", () => {
  it("opens the tunnel before each gate, with the Pulumi token and the optional direct URL only there", () => {
    const { doc } = readWorkflow("deploy-stack.yml");
    const steps = doc.jobs!.deploy!.steps!;
    const at = (name: string) => steps.findIndex((step) => step.name === name);
    const tunnels = steps.filter((step) => step.run?.includes("infra/promote/prometheus-tunnel.ts"));
    expect(tunnels.map((step) => step.name)).toEqual([
      "Reach Prometheus (before pulumi up)",
      "Reach Prometheus (after pulumi up)",
    ]);
    for (const step of tunnels) {
      expect(step.run).toBe('npx tsx infra/promote/prometheus-tunnel.ts --stack "$STACK"');
      expect(step.env).toEqual({
        PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN }}",
        PROMETHEUS_URL: "${{ vars[format('{0}_PROMETHEUS_URL', inputs.vars-prefix)] }}",
      });
    }
    expect(tunnels[0]!.if).toBe("steps.release.outputs.step == 'true'");
    expect(at("Reach Prometheus (before pulumi up)")).toBeLessThan(
      at("Pre-deploy gate (the release step's gates, measured again)"),
    );
    expect(at("Let traffic reach the new rollout")).toBeLessThan(at("Reach Prometheus (after pulumi up)"));
    expect(at("Reach Prometheus (after pulumi up)")).toBeLessThan(
      at("Post-deploy gate (what the stack now runs)"),
    );
    expect(doc.jobs!.deploy!.env).not.toHaveProperty("PROMETHEUS_URL");
  });
});
