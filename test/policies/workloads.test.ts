import * as policies from "../../policies/workloads.js";
import { parseImage } from "../../policies/workloads.js";
import { describe, expect, it } from "vitest";
import { evaluatePolicies, type PolicyTarget } from "../../policies/runner/evaluate.js";
import { describePolicy, STACK_FIXTURES } from "./cases.js";
import { setPath } from "./fixtures/target.js";
import { DIGEST } from "./fixtures/kubernetes.js";

const DEPLOYMENT = "Deployment:inference";
const SERVER = ["spec", "template", "spec", "containers", 0];
const INIT = ["spec", "template", "spec", "initContainers", 0];
const POD = ["spec", "template", "spec"];
const CRON_CONTAINER = ["spec", "jobTemplate", "spec", "template", "spec", "containers", 0];
const server = 'Deployment "inference" container "server"';
const SERVER_PATH = "spec.template.spec.containers[0]";

describePolicy(policies.podRunAsNonRoot, [
  {
    change: "runAsNonRoot unset on the pod",
    stack: "kubernetes",
    resource: "CronJob:drift-check",
    path: ["spec", "jobTemplate", "spec", "template", "spec", "securityContext", "runAsNonRoot"],
    value: undefined,
    message:
      'CronJob "drift-check" container "drift" may run as root. Set spec.jobTemplate.spec.template.spec.securityContext.runAsNonRoot (or spec.jobTemplate.spec.template.spec.containers[0].securityContext.runAsNonRoot) to true.',
  },
  {
    change: "a container running as UID 0",
    stack: "kubernetes",
    resource: DEPLOYMENT,
    path: [...SERVER, "securityContext", "runAsUser"],
    value: 0,
    message: `${server} runs as UID 0. Set ${SERVER_PATH}.securityContext.runAsUser to a non-zero UID (e.g. 10001).`,
  },
]);

describePolicy(policies.containerNotPrivileged, [
  {
    change: "a privileged init container",
    stack: "kubernetes",
    resource: DEPLOYMENT,
    path: [...INIT, "securityContext", "privileged"],
    value: true,
    message:
      'Deployment "inference" init container "fetch-model" is privileged. Set spec.template.spec.initContainers[0].securityContext.privileged to false.',
  },
]);

describePolicy(policies.containerNoPrivilegeEscalation, [
  {
    change: "allowPrivilegeEscalation left unset",
    stack: "kubernetes",
    resource: DEPLOYMENT,
    path: [...SERVER, "securityContext", "allowPrivilegeEscalation"],
    value: undefined,
    message: `${server} allows privilege escalation. Set ${SERVER_PATH}.securityContext.allowPrivilegeEscalation to false.`,
  },
]);

describePolicy(policies.containerDropAllCapabilities, [
  {
    change: "capabilities not dropped",
    stack: "kubernetes",
    resource: DEPLOYMENT,
    path: [...SERVER, "securityContext", "capabilities", "drop"],
    value: ["NET_RAW"],
    message: `${server} does not drop all capabilities. Set ${SERVER_PATH}.securityContext.capabilities.drop to ["ALL"].`,
  },
  {
    change: "a capability added back",
    stack: "kubernetes",
    resource: DEPLOYMENT,
    path: [...SERVER, "securityContext", "capabilities", "add"],
    value: ["NET_BIND_SERVICE", "SYS_ADMIN"],
    message: `${server} adds capabilities ["SYS_ADMIN"]. Remove them from ${SERVER_PATH}.securityContext.capabilities.add (only NET_BIND_SERVICE is allowed).`,
  },
]);

describePolicy(policies.containerReadOnlyRootFilesystem, [
  {
    change: "a writable root filesystem",
    stack: "kubernetes",
    resource: DEPLOYMENT,
    path: [...SERVER, "securityContext", "readOnlyRootFilesystem"],
    value: false,
    message: `${server} has a writable root filesystem. Set ${SERVER_PATH}.securityContext.readOnlyRootFilesystem to true and mount an emptyDir where it must write.`,
  },
]);

describePolicy(policies.podSeccompRuntimeDefault, [
  {
    change: "an Unconfined container profile",
    stack: "kubernetes",
    resource: DEPLOYMENT,
    path: [...SERVER, "securityContext", "seccompProfile"],
    value: { type: "Unconfined" },
    message: `${server} runs with seccomp profile Unconfined. Set ${SERVER_PATH}.securityContext.seccompProfile.type to "RuntimeDefault".`,
  },
]);

describePolicy(policies.podNoHostNamespaces, [
  {
    change: "hostNetwork",
    stack: "kubernetes",
    resource: DEPLOYMENT,
    path: [...POD, "hostNetwork"],
    value: true,
    message:
      'Deployment "inference" shares the node\'s Network namespace. Set spec.template.spec.hostNetwork to false.',
  },
  {
    change: "hostPID",
    stack: "kubernetes",
    resource: DEPLOYMENT,
    path: [...POD, "hostPID"],
    value: true,
    message:
      'Deployment "inference" shares the node\'s PID namespace. Set spec.template.spec.hostPID to false.',
  },
  {
    change: "hostIPC",
    stack: "kubernetes",
    resource: DEPLOYMENT,
    path: [...POD, "hostIPC"],
    value: true,
    message:
      'Deployment "inference" shares the node\'s IPC namespace. Set spec.template.spec.hostIPC to false.',
  },
]);

describePolicy(policies.podNoHostPathVolumes, [
  {
    change: "a hostPath volume",
    stack: "kubernetes",
    resource: DEPLOYMENT,
    path: [...POD, "volumes", 0],
    value: { name: "tmp", hostPath: { path: "/var/run/docker.sock" } },
    message:
      'Deployment "inference" mounts hostPath "/var/run/docker.sock" as volume "tmp". Replace spec.template.spec.volumes[0].hostPath with an emptyDir, configMap, secret or persistentVolumeClaim.',
  },
]);

describePolicy(policies.containerResources, [
  ...(["limits.cpu", "limits.memory"] as const).map((field) => ({
    change: `no ${field}`,
    stack: "kubernetes" as const,
    resource: DEPLOYMENT,
    path: [...SERVER, "resources", ...field.split(".")],
    value: undefined,
    message: `${server} has no ${field}. Set ${SERVER_PATH}.resources.${field}.`,
  })),
]);

describe("container-resources: requests the API server defaults from limits", () => {
  const withResources = (resources: unknown) => {
    const stack = STACK_FIXTURES.kubernetes();
    setPath(
      stack.find((t) => t.name === "inference" && t.type.endsWith("Deployment"))!.props,
      [...SERVER, "resources"],
      resources,
    );
    return stack;
  };
  const messages = async (stack: PolicyTarget[]) =>
    (await evaluatePolicies([policies.containerResources], stack, {})).map((v) => v.message);

  it("raises nothing for limits alone: each request defaults to its limit", async () => {
    expect(await messages(withResources({ limits: { cpu: "1", memory: "1Gi" } }))).toEqual([]);
  });

  it.each(["cpu", "memory"] as const)("reports a %s with neither a request nor a limit", async (resource) => {
    const other = resource === "cpu" ? "memory" : "cpu";
    const value = other === "cpu" ? "1" : "1Gi";
    expect(
      await messages(withResources({ requests: { [other]: value }, limits: { [other]: value } })),
    ).toEqual([
      `${server} has no requests.${resource}. Set ${SERVER_PATH}.resources.requests.${resource}.`,
      `${server} has no limits.${resource}. Set ${SERVER_PATH}.resources.limits.${resource}.`,
    ]);
  });
});

describePolicy(policies.containerHealthProbes, [
  {
    change: "no readinessProbe",
    stack: "kubernetes",
    resource: DEPLOYMENT,
    path: [...SERVER, "readinessProbe"],
    value: undefined,
    message: `${server} has no readinessProbe. Set ${SERVER_PATH}.readinessProbe.`,
  },
  {
    change: "no livenessProbe",
    stack: "kubernetes",
    resource: DEPLOYMENT,
    path: [...SERVER, "livenessProbe"],
    value: undefined,
    message: `${server} has no livenessProbe. Set ${SERVER_PATH}.livenessProbe.`,
  },
]);

describePolicy(policies.imagePinnedByDigest, [
  {
    change: "an image by tag only",
    stack: "kubernetes",
    resource: "CronJob:drift-check",
    path: [...CRON_CONTAINER, "image"],
    value: "ghcr.io/plinth-ml/plinth:0.1.0",
    message:
      'CronJob "drift-check" container "drift" image "ghcr.io/plinth-ml/plinth:0.1.0" is not pinned by digest. Set spec.jobTemplate.spec.template.spec.containers[0].image to "<registry>/<name>@sha256:<digest>".',
  },
]);

describePolicy(policies.imageNoLatestTag, [
  {
    change: "an explicit :latest next to a digest",
    stack: "kubernetes",
    resource: DEPLOYMENT,
    path: [...SERVER, "image"],
    value: `ghcr.io/plinth-ml/plinth:latest@${DIGEST}`,
    message: `${server} image "ghcr.io/plinth-ml/plinth:latest@${DIGEST}" uses :latest. Set ${SERVER_PATH}.image to a versioned tag pinned by digest.`,
  },
]);

describePolicy(policies.imageFromAllowedRegistry, [
  {
    change: "a Docker Hub user image",
    stack: "kubernetes",
    resource: DEPLOYMENT,
    path: [...SERVER, "image"],
    value: `someone/plinth@${DIGEST}`,
    message: `${server} image "someone/plinth@${DIGEST}" is not from an allowed registry (ghcr.io, quay.io, registry.k8s.io, docker.io/library). Set ${SERVER_PATH}.image to an image from one of them, or add its registry to allowedRegistries in the pack config.`,
  },
  {
    change: "an organisation outside a configured allowlist",
    stack: "kubernetes",
    resource: "CronJob:drift-check",
    path: [...CRON_CONTAINER, "image"],
    value: `ghcr.io/mlflow/mlflow@${DIGEST}`,
    config: { allowedRegistries: ["ghcr.io/plinth-ml", "quay.io/oauth2-proxy"] },
    message: `CronJob "drift-check" container "drift" image "ghcr.io/mlflow/mlflow@${DIGEST}" is not from an allowed registry (ghcr.io/plinth-ml, quay.io/oauth2-proxy). Set spec.jobTemplate.spec.template.spec.containers[0].image to an image from one of them, or add its registry to allowedRegistries in the pack config.`,
  },
]);

describe("image-from-allowed-registry: Docker Hub spellings", () => {
  const DEFAULT_REGISTRIES = "ghcr.io, quay.io, registry.k8s.io, docker.io/library";
  const withImage = (image: string) => {
    const stack = STACK_FIXTURES.kubernetes();
    const deployment = stack.find((t) => t.name === "inference" && t.type.endsWith(":Deployment"))!;
    setPath(deployment.props, [...SERVER, "image"], image);
    return stack;
  };
  const findings = async (image: string, config?: Record<string, unknown>) =>
    (
      await evaluatePolicies(
        [policies.imageFromAllowedRegistry],
        withImage(image),
        config ? { "image-from-allowed-registry": config } : {},
      )
    ).map((v) => v.message);
  const refused = (image: string, registries = DEFAULT_REGISTRIES) =>
    `${server} image "${image}" is not from an allowed registry (${registries}). Set ${SERVER_PATH}.image to an image from one of them, or add its registry to allowedRegistries in the pack config.`;

  // Each is docker.io/library/nginx to the container runtime.
  it.each([
    `nginx:1.27@${DIGEST}`,
    `library/nginx:1.27@${DIGEST}`,
    `docker.io/nginx:1.27@${DIGEST}`,
    `docker.io/library/nginx@${DIGEST}`,
    "index.docker.io/library/nginx:1",
    `index.docker.io/nginx@${DIGEST}`,
    `registry-1.docker.io/library/nginx@${DIGEST}`,
  ])("raises nothing for %s with the default registries", async (image) => {
    expect(await findings(image)).toEqual([]);
  });

  it.each([
    // Hosts that only begin or end like Docker Hub's.
    `docker.io.evil.com/x@${DIGEST}`,
    `docker.io.evil.com/library/nginx@${DIGEST}`,
    `index.docker.io.evil.com/library/nginx@${DIGEST}`,
    `evil.com/docker.io/library/nginx@${DIGEST}`,
    `evildocker.io/library/nginx@${DIGEST}`,
    // Docker Hub, but not an official image.
    `docker.io/someone/nginx@${DIGEST}`,
    `index.docker.io/someone/nginx@${DIGEST}`,
    `registry-1.docker.io/someone/nginx@${DIGEST}`,
    // A port or an upper-case first component makes it another registry host to the runtime.
    `docker.io:443/library/nginx@${DIGEST}`,
    `Docker.io/library/nginx@${DIGEST}`,
    `Library/nginx@${DIGEST}`,
    `localhost/library/nginx@${DIGEST}`,
  ])("reports %s with the default registries", async (image) => {
    expect(await findings(image)).toEqual([refused(image)]);
  });

  it.each([
    ["a short name", `bitnami/redis@${DIGEST}`, "docker.io/bitnami"],
    ["index.docker.io", `index.docker.io/bitnami/redis@${DIGEST}`, "docker.io/bitnami"],
    ["an allowlist entry spelt index.docker.io", `bitnami/redis@${DIGEST}`, "index.docker.io/bitnami"],
    [
      "an allowlist entry spelt registry-1.docker.io",
      `docker.io/nginx@${DIGEST}`,
      "registry-1.docker.io/library",
    ],
  ])(
    "raises nothing for a Docker Hub organisation allowed by the pack config, by %s",
    async (_name, image, allowed) => {
      // ghcr.io for the fixture's other containers.
      expect(await findings(image, { allowedRegistries: ["ghcr.io", allowed] })).toEqual([]);
    },
  );

  it("still refuses another Docker Hub organisation when one is allowed", async () => {
    const image = `index.docker.io/bitnamii/redis@${DIGEST}`;
    expect(await findings(image, { allowedRegistries: ["ghcr.io", "docker.io/bitnami"] })).toEqual([
      refused(image, "ghcr.io, docker.io/bitnami"),
    ]);
  });
});

describePolicy(policies.pdbAllowsEviction, [
  {
    change: "maxUnavailable 0",
    stack: "kubernetes",
    resource: "PodDisruptionBudget:inference",
    path: ["spec", "maxUnavailable"],
    value: 0,
    message:
      'PodDisruptionBudget "inference" allows no evictions. Set spec.maxUnavailable to 1 (or a percentage above 0%).',
  },
  {
    change: "minAvailable 100%",
    stack: "kubernetes",
    resource: "PodDisruptionBudget:inference",
    path: ["spec", "minAvailable"],
    value: "100%",
    message:
      'PodDisruptionBudget "inference" allows no evictions. Set spec.minAvailable below 100% or use spec.maxUnavailable: 1.',
  },
  {
    change: "minAvailable equal to the replicas it selects",
    stack: "kubernetes",
    resource: "PodDisruptionBudget:inference",
    path: ["spec"],
    value: { minAvailable: 2, selector: { matchLabels: { "app.kubernetes.io/name": "inference" } } },
    message:
      'PodDisruptionBudget "inference" keeps 2 of the 2 pods of Deployment "inference" (HorizontalPodAutoscaler "inference" spec.minReplicas) available: no eviction is ever allowed. Set spec.maxUnavailable to 1 instead.',
  },
  {
    change: "a minAvailable percentage that rounds up to every replica",
    stack: "kubernetes",
    resource: "PodDisruptionBudget:inference",
    path: ["spec"],
    value: { minAvailable: "60%", selector: { matchLabels: { "app.kubernetes.io/name": "inference" } } },
    message:
      'PodDisruptionBudget "inference" keeps 2 of the 2 pods of Deployment "inference" (HorizontalPodAutoscaler "inference" spec.minReplicas) available: no eviction is ever allowed. Set spec.maxUnavailable to 1 instead.',
  },
]);

describe("pdb-allows-eviction: the budget's effect on what it selects", () => {
  const withPdb = (spec: Record<string, unknown>) => {
    const stack = STACK_FIXTURES.kubernetes();
    const pdb = stack.find((t) => t.name === "inference" && t.type.endsWith("PodDisruptionBudget"))!;
    setPath(pdb.props, ["spec"], {
      ...spec,
      selector: { matchLabels: { "app.kubernetes.io/name": "inference" } },
    });
    return stack;
  };

  it.each([
    ["minAvailable below the replicas", { minAvailable: 1 }],
    ["a minAvailable percentage that leaves one to evict", { minAvailable: "50%" }],
    ["a maxUnavailable percentage (rounded up to one pod)", { maxUnavailable: "10%" }],
  ])("raises nothing for %s", async (_name, spec) => {
    expect(await evaluatePolicies([policies.pdbAllowsEviction], withPdb(spec), {})).toEqual([]);
  });

  it("counts every pod a budget selects: blue and green of 2 replicas leave 2 to evict", async () => {
    const stack = withPdb({ minAvailable: 2 });
    const blue = stack.find((t) => t.name === "inference" && t.type.endsWith("Deployment"))!;
    const green = { ...structuredClone(blue), name: "inference-green", urn: `${blue.urn}-green` };
    setPath(green.props, ["metadata", "name"], "inference-green");
    stack.push(green);
    expect(await evaluatePolicies([policies.pdbAllowsEviction], stack, {})).toEqual([]);
    setPath(
      stack.find((t) => t.name === "inference" && t.type.endsWith("PodDisruptionBudget"))!.props,
      ["spec", "minAvailable"],
      4,
    );
    const found = await evaluatePolicies([policies.pdbAllowsEviction], stack, {});
    expect(found.map((v) => v.message)).toEqual([
      'PodDisruptionBudget "inference" keeps 4 of the 4 pods of Deployment "inference" (HorizontalPodAutoscaler "inference" spec.minReplicas), Deployment "inference-green" (spec.replicas) available: no eviction is ever allowed. Set spec.maxUnavailable to 1 instead.',
    ]);
  });

  it("weighs a StatefulSet's replicas too", async () => {
    const stack = withPdb({ minAvailable: 3 });
    const deployment = stack.find((t) => t.name === "inference" && t.type.endsWith("Deployment"))!;
    deployment.type = "kubernetes:apps/v1:StatefulSet";
    setPath(deployment.props, ["spec", "replicas"], 3);
    const found = await evaluatePolicies([policies.pdbAllowsEviction], stack, {});
    expect(found.map((v) => v.message)).toEqual([
      'PodDisruptionBudget "inference" keeps 3 of the 3 pods of StatefulSet "inference" (spec.replicas) available: no eviction is ever allowed. Set spec.maxUnavailable to 1 instead.',
    ]);
  });
});

describePolicy(policies.hpaCpuOnly, [
  {
    change: "a memory metric",
    stack: "kubernetes",
    resource: "HorizontalPodAutoscaler:inference",
    path: ["spec", "metrics", 0, "resource", "name"],
    value: "memory",
    message:
      'HorizontalPodAutoscaler "inference" scales on resource memory. Set spec.metrics[0] to { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: <percent> } } }.',
  },
  {
    change: "one container's memory (ContainerResource)",
    stack: "kubernetes",
    resource: "HorizontalPodAutoscaler:inference",
    path: ["spec", "metrics", 0],
    value: {
      type: "ContainerResource",
      containerResource: {
        name: "memory",
        container: "server",
        target: { type: "Utilization", averageUtilization: 70 },
      },
    },
    message:
      'HorizontalPodAutoscaler "inference" scales on resource memory. Set spec.metrics[0] to { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: <percent> } } }.',
  },
]);

describe("hpa-cpu-only: CPU however it is measured", () => {
  it("raises nothing for one container's CPU (ContainerResource)", async () => {
    const stack = STACK_FIXTURES.kubernetes();
    const hpa = stack.find((t) => t.name === "inference" && t.type.endsWith("HorizontalPodAutoscaler"))!;
    setPath(hpa.props, ["spec", "metrics", 0], {
      type: "ContainerResource",
      containerResource: {
        name: "cpu",
        container: "server",
        target: { type: "Utilization", averageUtilization: 70 },
      },
    });
    expect(await evaluatePolicies([policies.hpaCpuOnly], stack, {})).toEqual([]);
  });
});

describe("hpa-cpu-only: every autoscaling version that can name a metric", () => {
  const withHpa = (type: string, spec: Record<string, unknown>) => {
    const stack = STACK_FIXTURES.kubernetes();
    const hpa = stack.find((t) => t.name === "inference" && t.type.endsWith("HorizontalPodAutoscaler"))!;
    hpa.type = type;
    hpa.urn = hpa.urn.replace("autoscaling/v2:", `${type.split(":")[1]}:`);
    setPath(hpa.props, ["spec"], {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "inference" },
      minReplicas: 2,
      maxReplicas: 4,
      ...spec,
    });
    return stack;
  };
  const messages = async (type: string, spec: Record<string, unknown>) =>
    (await evaluatePolicies([policies.hpaCpuOnly], withHpa(type, spec), {})).map((v) => v.message);
  const V2_FIX =
    '{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: <percent> } } }';
  const V2BETA1_FIX = '{ type: "Resource", resource: { name: "cpu", targetAverageUtilization: <percent> } }';

  it.each([
    [
      "autoscaling/v2beta2 on memory",
      "kubernetes:autoscaling/v2beta2:HorizontalPodAutoscaler",
      {
        metrics: [
          {
            type: "Resource",
            resource: { name: "memory", target: { type: "Utilization", averageUtilization: 80 } },
          },
        ],
      },
      `HorizontalPodAutoscaler "inference" scales on resource memory. Set spec.metrics[0] to ${V2_FIX}.`,
    ],
    [
      "autoscaling/v2beta1 on memory",
      "kubernetes:autoscaling/v2beta1:HorizontalPodAutoscaler",
      { metrics: [{ type: "Resource", resource: { name: "memory", targetAverageUtilization: 80 } }] },
      `HorizontalPodAutoscaler "inference" scales on resource memory. Set spec.metrics[0] to ${V2BETA1_FIX}.`,
    ],
    [
      "autoscaling/v2beta1 on a Pods metric after CPU",
      "kubernetes:autoscaling/v2beta1:HorizontalPodAutoscaler",
      {
        metrics: [
          { type: "Resource", resource: { name: "cpu", targetAverageUtilization: 70 } },
          { type: "Pods", pods: { metricName: "requests_in_flight", targetAverageValue: "10" } },
        ],
      },
      `HorizontalPodAutoscaler "inference" scales on Pods metric. Set spec.metrics[1] to ${V2BETA1_FIX}.`,
    ],
    [
      "autoscaling/v2beta2 on one container's memory",
      "kubernetes:autoscaling/v2beta2:HorizontalPodAutoscaler",
      {
        metrics: [
          {
            type: "ContainerResource",
            containerResource: {
              name: "memory",
              container: "server",
              target: { type: "Utilization", averageUtilization: 80 },
            },
          },
        ],
      },
      `HorizontalPodAutoscaler "inference" scales on resource memory. Set spec.metrics[0] to ${V2_FIX}.`,
    ],
  ])("reports %s", async (_name, type, spec, message) => {
    expect(await messages(type, spec)).toEqual([message]);
  });

  it.each([
    [
      "autoscaling/v2beta2 on CPU",
      "kubernetes:autoscaling/v2beta2:HorizontalPodAutoscaler",
      {
        metrics: [
          {
            type: "Resource",
            resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } },
          },
        ],
      },
    ],
    [
      "autoscaling/v2beta1 on CPU",
      "kubernetes:autoscaling/v2beta1:HorizontalPodAutoscaler",
      { metrics: [{ type: "Resource", resource: { name: "cpu", targetAverageUtilization: 70 } }] },
    ],
    [
      "autoscaling/v1 (CPU only by its shape)",
      "kubernetes:autoscaling/v1:HorizontalPodAutoscaler",
      { targetCPUUtilizationPercentage: 70 },
    ],
  ])("raises nothing for %s", async (_name, type, spec) => {
    expect(await messages(type, spec)).toEqual([]);
  });
});

describePolicy(policies.pdbForReplicatedDeployments, [
  {
    change: "a PDB selecting other pods",
    stack: "kubernetes",
    resource: "PodDisruptionBudget:inference",
    path: ["spec", "selector", "matchLabels", "app.kubernetes.io/name"],
    value: "oauth2-proxy",
    reportedOn: DEPLOYMENT,
    message:
      'Deployment "inference" runs 2 replicas but no PodDisruptionBudget selects its pods. Add a PodDisruptionBudget in namespace "plinth" with spec.selector.matchLabels {"app.kubernetes.io/name":"inference"} and spec.maxUnavailable 1.',
  },
]);

describe("PodDisruptionBudget rules read the same budget types", () => {
  const PDB_TYPES = [
    "kubernetes:policy/v1:PodDisruptionBudget",
    "kubernetes:policy/v1beta1:PodDisruptionBudget",
  ];
  const withPdb = (type: string, spec: Record<string, unknown>) => {
    const stack = STACK_FIXTURES.kubernetes();
    const pdb = stack.find((t) => t.name === "inference" && t.type.endsWith("PodDisruptionBudget"))!;
    pdb.type = type;
    pdb.urn = pdb.urn.replace("policy/v1:", `${type.split(":")[1]}:`);
    setPath(pdb.props, ["spec"], spec);
    return stack;
  };
  const SELECT_INFERENCE = { selector: { matchLabels: { "app.kubernetes.io/name": "inference" } } };
  const UNCOVERED =
    'Deployment "inference" runs 2 replicas but no PodDisruptionBudget selects its pods. Add a PodDisruptionBudget in namespace "plinth" with spec.selector.matchLabels {"app.kubernetes.io/name":"inference"} and spec.maxUnavailable 1.';

  it.each(PDB_TYPES)("pdb-for-replicated-deployments counts a %s budget", async (type) => {
    const stack = withPdb(type, { maxUnavailable: 1, ...SELECT_INFERENCE });
    expect(await evaluatePolicies([policies.pdbForReplicatedDeployments], stack, {})).toEqual([]);
  });

  it.each(PDB_TYPES)("pdb-allows-eviction judges a %s budget", async (type) => {
    const stack = withPdb(type, { minAvailable: 2, ...SELECT_INFERENCE });
    const found = await evaluatePolicies([policies.pdbAllowsEviction], stack, {});
    expect(found.map((v) => v.message)).toEqual([
      'PodDisruptionBudget "inference" keeps 2 of the 2 pods of Deployment "inference" (HorizontalPodAutoscaler "inference" spec.minReplicas) available: no eviction is ever allowed. Set spec.maxUnavailable to 1 instead.',
    ]);
  });

  it("counts a policy/v1 budget with an empty selector (every pod in its namespace)", async () => {
    const stack = withPdb(PDB_TYPES[0]!, { maxUnavailable: 1, selector: {} });
    expect(await evaluatePolicies([policies.pdbForReplicatedDeployments], stack, {})).toEqual([]);
  });

  it("does not count a policy/v1beta1 budget with an empty selector (no pods in that version)", async () => {
    const stack = withPdb(PDB_TYPES[1]!, { maxUnavailable: 1, selector: {} });
    const found = await evaluatePolicies([policies.pdbForReplicatedDeployments], stack, {});
    expect(found.map((v) => v.message)).toEqual([UNCOVERED]);
  });

  it("does not weigh a policy/v1beta1 budget with an empty selector against any workload", async () => {
    const stack = withPdb(PDB_TYPES[1]!, { minAvailable: 2, selector: {} });
    expect(await evaluatePolicies([policies.pdbAllowsEviction], stack, {})).toEqual([]);
  });

  it("does not count a type that is not a PodDisruptionBudget API version", async () => {
    const stack = withPdb("kubernetes:policy/v1alpha1:PodDisruptionBudget", {
      maxUnavailable: 1,
      ...SELECT_INFERENCE,
    });
    const found = await evaluatePolicies([policies.pdbForReplicatedDeployments], stack, {});
    expect(found.map((v) => v.message)).toEqual([UNCOVERED]);
  });
});

describePolicy(policies.workloadMinReplicas, [
  {
    change: "an autoscaler minimum below the production minimum",
    stack: "kubernetes",
    resource: "HorizontalPodAutoscaler:inference",
    path: ["spec", "minReplicas"],
    value: 1,
    config: { minReplicas: 2 },
    reportedOn: DEPLOYMENT,
    message:
      'Deployment "inference" runs 1 replica(s); this stack requires 2. Set HorizontalPodAutoscaler "inference" spec.minReplicas to at least 2.',
  },
]);

describe("parseImage", () => {
  it.each([
    ["postgres:17.6", { repository: "docker.io/library/postgres", tag: "17.6" }],
    ["someone/tool", { repository: "docker.io/someone/tool" }],
    [
      `docker.io/nginx:1.27@${DIGEST}`,
      { repository: "docker.io/library/nginx", tag: "1.27", digest: DIGEST },
    ],
    ["index.docker.io/library/nginx:1", { repository: "docker.io/library/nginx", tag: "1" }],
    ["index.docker.io/someone/tool", { repository: "docker.io/someone/tool" }],
    ["registry-1.docker.io/nginx", { repository: "docker.io/library/nginx" }],
    ["docker.io.evil.com/x", { repository: "docker.io.evil.com/x" }],
    ["docker.io:5000/nginx", { repository: "docker.io:5000/nginx" }],
    ["Someone/tool", { repository: "Someone/tool" }],
    [`localhost:5000/plinth@${DIGEST}`, { repository: "localhost:5000/plinth", digest: DIGEST }],
    [
      `quay.io/oauth2-proxy/oauth2-proxy:v7.12.0@${DIGEST}`,
      { repository: "quay.io/oauth2-proxy/oauth2-proxy", tag: "v7.12.0", digest: DIGEST },
    ],
  ])("%s", (image, expected) => {
    expect(parseImage(image)).toEqual(expected);
  });
});
