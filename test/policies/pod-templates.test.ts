/**
 * What counts as a pod template and a container (#19), for every workload policy at once: each
 * kind the Kubernetes API serves with a pod spec, in every API version the provider knows, the
 * server-side-apply `<Kind>Patch` variants, and all three container lists. A patch is judged on
 * what it sets, never on what it leaves out (the object keeps its current value there).
 */
import { describe, expect, it } from "vitest";
import { allPolicies } from "../../policies/all.js";
import { isLongRunning, isWorkloadType, workloadKind } from "../../policies/lib/kubernetes.js";
import { evaluatePolicies, type PolicyTarget } from "../../policies/runner/evaluate.js";
import { inferenceDeployment } from "./fixtures/kubernetes.js";
import { target } from "./fixtures/target.js";

type PodTemplate = ReturnType<typeof inferenceDeployment>["spec"]["template"];

/** The compliant inference pod template, with one privileged container in `list`. */
function templateWithPrivileged(list: "initContainers" | "containers" | "ephemeralContainers"): PodTemplate {
  const template = structuredClone(inferenceDeployment().spec.template);
  const spec = template.spec as Record<string, unknown>;
  const source = template.spec.containers[0]!;
  const privileged = {
    ...source,
    name: "debug",
    securityContext: { ...source.securityContext, privileged: true },
  };
  spec[list] = [...((spec[list] as unknown[] | undefined) ?? []), privileged];
  return template;
}

/** `template` placed where each kind keeps it. */
const KINDS: [type: string, wrap: (template: PodTemplate) => Record<string, unknown>][] = [
  ["kubernetes:apps/v1:Deployment", (t) => ({ spec: { replicas: 2, template: t } })],
  ["kubernetes:apps/v1beta2:Deployment", (t) => ({ spec: { replicas: 2, template: t } })],
  ["kubernetes:extensions/v1beta1:Deployment", (t) => ({ spec: { replicas: 2, template: t } })],
  ["kubernetes:apps/v1:StatefulSet", (t) => ({ spec: { template: t } })],
  ["kubernetes:apps/v1:DaemonSet", (t) => ({ spec: { template: t } })],
  ["kubernetes:extensions/v1beta1:DaemonSet", (t) => ({ spec: { template: t } })],
  ["kubernetes:apps/v1:ReplicaSet", (t) => ({ spec: { template: t } })],
  ["kubernetes:core/v1:ReplicationController", (t) => ({ spec: { template: t } })],
  ["kubernetes:batch/v1:Job", (t) => ({ spec: { template: t } })],
  ["kubernetes:batch/v1:CronJob", (t) => ({ spec: { jobTemplate: { spec: { template: t } } } })],
  ["kubernetes:batch/v1beta1:CronJob", (t) => ({ spec: { jobTemplate: { spec: { template: t } } } })],
  ["kubernetes:core/v1:PodTemplate", (t) => ({ template: t })],
  ["kubernetes:core/v1:Pod", (t) => ({ metadata: { ...t.metadata }, spec: t.spec })],
  ["kubernetes:apps/v1:DeploymentPatch", (t) => ({ spec: { template: t } })],
  ["kubernetes:apps/v1:StatefulSetPatch", (t) => ({ spec: { template: t } })],
  ["kubernetes:apps/v1:DaemonSetPatch", (t) => ({ spec: { template: t } })],
  ["kubernetes:core/v1:ReplicationControllerPatch", (t) => ({ spec: { template: t } })],
  ["kubernetes:batch/v1:JobPatch", (t) => ({ spec: { template: t } })],
  ["kubernetes:batch/v1:CronJobPatch", (t) => ({ spec: { jobTemplate: { spec: { template: t } } } })],
  ["kubernetes:core/v1:PodPatch", (t) => ({ spec: t.spec })],
];

function workload(type: string, props: Record<string, unknown>): PolicyTarget {
  return target(type, "inference", { metadata: { name: "inference", namespace: "plinth" }, ...props });
}

/** The resource policies' findings on one resource. */
async function findings(resource: PolicyTarget, names?: string[]) {
  const policies = allPolicies.filter(
    (policy) => "validateResource" in policy && (names === undefined || names.includes(policy.name)),
  );
  return evaluatePolicies(policies, [resource]);
}

describe("every kind that carries a pod template", () => {
  it.each(KINDS)("%s: a privileged container is found in each container list", async (type, wrap) => {
    for (const list of ["initContainers", "containers", "ephemeralContainers"] as const) {
      const found = await findings(workload(type, wrap(templateWithPrivileged(list))), [
        "container-not-privileged",
      ]);
      const role = {
        initContainers: "init container",
        containers: "container",
        ephemeralContainers: "ephemeral container",
      }[list];
      expect(
        found.map((v) => v.message),
        `${type} ${list}`,
      ).toEqual([
        expect.stringMatching(
          new RegExp(
            `"inference" ${role} "debug" is privileged\\. Set .*\\.${list}\\[\\d\\]\\.securityContext\\.privileged to false\\.$`,
          ),
        ),
      ]);
    }
  });

  it.each(KINDS)("%s: the compliant template raises nothing", async (type, wrap) => {
    const template = structuredClone(inferenceDeployment().spec.template);
    expect(await findings(workload(type, wrap(template)))).toEqual([]);
  });

  it("reads the kinds from the resource type, and nothing else as one", () => {
    expect(workloadKind("kubernetes:apps/v1:DeploymentPatch")).toEqual({ kind: "Deployment", patch: true });
    expect(workloadKind("kubernetes:core/v1:ReplicationController")).toEqual({
      kind: "ReplicationController",
      patch: false,
    });
    for (const type of [
      "kubernetes:example.com/v1:Deployment", // a custom resource of the same kind name
      "kubernetes:apps/v1:ControllerRevision",
      "kubernetes:core/v1:Service",
      "kubernetes:apps/v1:Pod", // Pods are core only
      "aws:ecs/taskDefinition:TaskDefinition",
    ]) {
      expect(isWorkloadType(type), type).toBe(false);
    }
    expect(isLongRunning("kubernetes:core/v1:ReplicationController")).toBe(true);
    expect(isLongRunning("kubernetes:apps/v1:ReplicaSet")).toBe(true);
    expect(isLongRunning("kubernetes:batch/v1:Job")).toBe(false);
  });

  it("asks a ReplicationController for probes, and an ephemeral container for neither probes nor resources", async () => {
    const template = structuredClone(inferenceDeployment().spec.template);
    delete (template.spec.containers[0] as Record<string, unknown>).readinessProbe;
    const rc = await findings(workload("kubernetes:core/v1:ReplicationController", { spec: { template } }), [
      "container-health-probes",
    ]);
    expect(rc.map((v) => v.message)).toEqual([
      'ReplicationController "inference" container "server" has no readinessProbe. Set spec.template.spec.containers[0].readinessProbe.',
    ]);
    const debug = structuredClone(inferenceDeployment().spec.template);
    const {
      resources: _resources,
      readinessProbe: _r,
      livenessProbe: _l,
      ...bare
    } = debug.spec.containers[0]!;
    (debug.spec as Record<string, unknown>).ephemeralContainers = [{ ...bare, name: "debug" }];
    expect(
      await findings(workload("kubernetes:apps/v1:Deployment", { spec: { replicas: 2, template: debug } }), [
        "container-health-probes",
        "container-resources",
      ]),
    ).toEqual([]);
  });
});

describe("a server-side-apply patch", () => {
  /** A DeploymentPatch that sets only the server container's image. */
  const imageOnly = (image: string, securityContext?: Record<string, unknown>) =>
    workload("kubernetes:apps/v1:DeploymentPatch", {
      spec: {
        template: {
          spec: { containers: [{ name: "server", image, ...(securityContext ? { securityContext } : {}) }] },
        },
      },
    });
  const DIGEST_IMAGE = inferenceDeployment().spec.template.spec.containers[0]!.image;

  it("is not judged on what it leaves out", async () => {
    expect(await findings(imageOnly(DIGEST_IMAGE))).toEqual([]);
  });

  it("is judged on what it sets", async () => {
    const found = await findings(
      imageOnly("ghcr.io/plinth-ml/plinth:latest", {
        runAsNonRoot: false,
        allowPrivilegeEscalation: true,
        readOnlyRootFilesystem: false,
        capabilities: { drop: [], add: ["SYS_ADMIN"] },
        seccompProfile: { type: "Unconfined" },
      }),
    );
    expect(found.map((v) => v.policy).sort()).toEqual(
      [
        "container-drop-all-capabilities",
        "container-drop-all-capabilities",
        "container-no-privilege-escalation",
        "container-read-only-root-filesystem",
        "image-no-latest-tag",
        "image-pinned-by-digest",
        "pod-run-as-non-root",
        "pod-seccomp-runtime-default",
      ].sort(),
    );
    expect(found.find((v) => v.policy === "pod-run-as-non-root")?.message).toBe(
      'DeploymentPatch "inference" container "server" may run as root. Set spec.template.spec.securityContext.runAsNonRoot (or spec.template.spec.containers[0].securityContext.runAsNonRoot) to true.',
    );
  });

  it("asks for no NetworkPolicy of its own: the workload it patches is managed elsewhere", async () => {
    const found = await evaluatePolicies(
      allPolicies.filter((policy) => policy.name === "networkpolicy-for-every-workload"),
      [imageOnly(DIGEST_IMAGE)],
    );
    expect(found).toEqual([]);
    const whole = await evaluatePolicies(
      allPolicies.filter((policy) => policy.name === "networkpolicy-for-every-workload"),
      [workload("kubernetes:apps/v1:Deployment", inferenceDeployment())],
    );
    expect(whole.map((v) => v.message)).toEqual([
      expect.stringContaining('Deployment "inference" is selected by no NetworkPolicy'),
    ]);
  });
});
