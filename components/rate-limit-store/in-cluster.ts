/**
 * The rate-limit store on a cluster without a cloud behind it (`existing`): one Redis pod, hardened
 * like every plinth workload, TLS only (`--port 0 --tls-port 6379`) with a certificate cert-manager
 * issues from a CA of its own, AUTH from a generated password (in a Secret-held config file, never
 * on the command line), reachable only from the inference pods. No persistence: the counters
 * expire within a window and are worth nothing after a restart.
 *
 * Why a private CA: the stack's ClusterIssuer is ACME (Let's Encrypt), which signs only public
 * names, never `<service>.<namespace>.svc`. A self-signed issuer bootstraps a CA Certificate, and a
 * CA issuer signs the server's certificate from it; the pods trust that CA (ca.crt) alone.
 *
 * Why a StatefulSet of one: two Redis pods behind one Service would each count half the requests.
 * A StatefulSet never runs two pods of one ordinal, not even during a rollout; while the one pod
 * is away the service falls back to its failure mode (per-pod limits by default).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { CRDS_FROM_CLUSTER_ANNOTATION, selectorLabels, standardLabels } from "../shared/labels.js";
import { ingressOnlyFrom, type Peer } from "../shared/network-policy.js";
import { hardenedContainer, hardenedPodSpec, scratchVolume, type Resources } from "../shared/workload.js";
import { REDIS_PORT, redisUrl, type StoreEndpoint } from "./types.js";
import { clusterService } from "../shared/service.js";

export interface InClusterStoreOptions {
  /** The official Redis image (Debian), pinned by digest. */
  readonly image: string;
  /** Namespace of the server and its clients. */
  readonly namespace: string;
  /** The only pods admitted to the Redis port. */
  readonly clients: readonly Peer[];
  /** `protect` on the StatefulSet (the policy pack requires it of every StatefulSet in production). */
  readonly protect: boolean;
  /**
   * What installs cert-manager's CRDs in this stack: the Issuers and Certificates wait for it.
   * Empty when the cluster's own cert-manager is reused; they are then annotated as such.
   */
  readonly certManager: readonly pulumi.Input<pulumi.Resource>[];
  /** The cluster's own cert-manager is reused (plinth:existingCluster.certManager). */
  readonly certManagerFromCluster: boolean;
  readonly opts: pulumi.CustomResourceOptions;
}

/** The redis image's own user. */
const REDIS_UID = 999;
const RESOURCES: Resources = {
  requests: { cpu: "50m", memory: "64Mi" },
  limits: { cpu: "500m", memory: "256Mi" },
};
/** Below the memory limit, with room for Redis's own overhead and TLS buffers. */
const MAX_MEMORY = "160mb";
/** Sibling directories: a mount nested in a read-only Secret volume could not be created. */
const CONFIG_DIR = "/etc/redis/conf";
const TLS_DIR = "/etc/redis/tls";
/** Key of the CA certificate in a cert-manager Certificate's Secret. */
export const CA_KEY = "ca.crt";
/** The CA's lifetime; the server certificate is renewed from it long before. */
const CA_DURATION = "87600h";
const SERVER_DURATION = "2160h";
const SERVER_RENEW_BEFORE = "720h";

export function inClusterStore(name: string, options: InClusterStoreOptions): StoreEndpoint {
  const app = name;
  const labels = standardLabels(app, "rate-limit-store");
  const selector = selectorLabels(app, "rate-limit-store");
  const { namespace, opts } = options;
  const host = `${app}.${namespace}.svc.cluster.local`;

  const password = new random.RandomPassword(
    `${name}-password`,
    { length: 48, special: false },
    { parent: opts.parent },
  );
  // The password lives in a config file the server reads: never on its command line, and to the
  // probes' redis-cli only through an env reference to this Secret.
  const credentials = new k8s.core.v1.Secret(
    `${name}-credentials`,
    {
      metadata: { name: `${app}-credentials`, namespace, labels },
      type: "Opaque",
      stringData: {
        password: pulumi.secret(password.result),
        "redis.conf": pulumi.secret(pulumi.interpolate`requirepass ${password.result}\n`),
      },
    },
    opts,
  );

  const tlsSecretName = `${app}-tls`;
  const certificates = certificateChain(name, app, namespace, labels, tlsSecretName, host, options);

  const config = { name: "config", mountPath: CONFIG_DIR, readOnly: true };
  const tls = { name: "tls", mountPath: TLS_DIR, readOnly: true };
  const data = scratchVolume("data", "/data", "16Mi");
  // redis-cli checks the server's certificate against the CA: once the certificate Redis loaded at
  // start expires (cert-manager renewed the file a month before), the probe fails and the restart
  // loads the renewed one.
  const ping = {
    exec: {
      command: [
        "redis-cli",
        "--tls",
        "--cacert",
        `${TLS_DIR}/${CA_KEY}`,
        "-h",
        "127.0.0.1",
        "-p",
        String(REDIS_PORT),
        "ping",
      ],
    },
    timeoutSeconds: 3,
  };
  const container = hardenedContainer({
    name: "redis",
    image: options.image,
    command: ["redis-server", `${CONFIG_DIR}/redis.conf`],
    args: [
      "--port",
      "0",
      "--tls-port",
      String(REDIS_PORT),
      "--tls-cert-file",
      `${TLS_DIR}/tls.crt`,
      "--tls-key-file",
      `${TLS_DIR}/tls.key`,
      "--tls-ca-cert-file",
      `${TLS_DIR}/${CA_KEY}`,
      // Clients authenticate with AUTH, not certificates.
      "--tls-auth-clients",
      "no",
      "--tls-protocols",
      "TLSv1.2 TLSv1.3",
      // No persistence: no RDB snapshots, no append-only file.
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      "/data",
      "--maxmemory",
      MAX_MEMORY,
      // Every rate-limit key expires: under memory pressure the one nearest its end goes first.
      "--maxmemory-policy",
      "volatile-ttl",
    ],
    // redis-cli reads the password from REDISCLI_AUTH for the probes.
    env: [
      {
        name: "REDISCLI_AUTH",
        valueFrom: { secretKeyRef: { name: credentials.metadata.name, key: "password" } },
      },
    ],
    ports: [{ name: "redis", containerPort: REDIS_PORT }],
    resources: RESOURCES,
    probes: {
      startup: { ...ping, periodSeconds: 2, failureThreshold: 30 },
      readiness: { ...ping, periodSeconds: 10, failureThreshold: 3 },
      liveness: { ...ping, periodSeconds: 20, failureThreshold: 3 },
    },
    volumeMounts: [config, tls, data.mount],
  });
  clusterService(
    `${name}-service`,
    { name: app, namespace, labels, selector, port: { name: "redis", number: REDIS_PORT } },
    opts,
  );
  new k8s.apps.v1.StatefulSet(
    `${name}-server`,
    {
      metadata: { name: app, namespace, labels },
      spec: {
        serviceName: app,
        replicas: 1,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels },
          spec: hardenedPodSpec({
            containers: [container],
            runAsUser: REDIS_UID,
            volumes: [
              {
                name: "config",
                secret: {
                  secretName: credentials.metadata.name,
                  items: [{ key: "redis.conf", path: "redis.conf" }],
                },
              },
              { name: "tls", secret: { secretName: tlsSecretName } },
              data.volume,
            ],
          }),
        },
      },
    },
    { ...opts, protect: options.protect, dependsOn: [credentials, ...certificates] },
  );
  ingressOnlyFrom(
    `${name}-netpol`,
    namespace,
    selector,
    labels,
    [{ port: REDIS_PORT, from: options.clients }],
    opts,
  );
  return {
    url: redisUrl(password.result, host, REDIS_PORT),
    caSecret: { name: tlsSecretName, key: CA_KEY },
  };
}

/** A self-signed Issuer, the CA Certificate it signs, a CA Issuer, and the server's Certificate. */
function certificateChain(
  name: string,
  app: string,
  namespace: string,
  labels: Record<string, string>,
  tlsSecretName: string,
  host: string,
  options: InClusterStoreOptions,
): k8s.apiextensions.CustomResource[] {
  const metadata = (objectName: string) => ({
    name: objectName,
    namespace,
    labels,
    ...(options.certManagerFromCluster ? { annotations: { [CRDS_FROM_CLUSTER_ANNOTATION]: "cluster" } } : {}),
  });
  const after = (dependsOn: pulumi.Input<pulumi.Resource>[]) => ({
    ...options.opts,
    dependsOn: [...options.certManager, ...dependsOn],
  });
  const issuer = (role: string, spec: Record<string, unknown>, dependsOn: pulumi.Input<pulumi.Resource>[]) =>
    new k8s.apiextensions.CustomResource(
      `${name}-${role}-issuer`,
      { apiVersion: "cert-manager.io/v1", kind: "Issuer", metadata: metadata(`${app}-${role}`), spec },
      after(dependsOn),
    );
  const privateKey = { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" };
  const selfSigned = issuer("self-signed", { selfSigned: {} }, []);
  const caSecretName = `${app}-ca`;
  const ca = new k8s.apiextensions.CustomResource(
    `${name}-ca`,
    {
      apiVersion: "cert-manager.io/v1",
      kind: "Certificate",
      metadata: metadata(`${app}-ca`),
      spec: {
        isCA: true,
        commonName: `${app} CA`,
        secretName: caSecretName,
        duration: CA_DURATION,
        privateKey,
        issuerRef: { group: "cert-manager.io", kind: "Issuer", name: `${app}-self-signed` },
      },
    },
    after([selfSigned]),
  );
  const caIssuer = issuer("ca", { ca: { secretName: caSecretName } }, [ca]);
  const server = new k8s.apiextensions.CustomResource(
    `${name}-certificate`,
    {
      apiVersion: "cert-manager.io/v1",
      kind: "Certificate",
      metadata: metadata(app),
      spec: {
        secretName: tlsSecretName,
        commonName: host,
        dnsNames: [app, `${app}.${namespace}`, `${app}.${namespace}.svc`, host],
        // The probes' own connection.
        ipAddresses: ["127.0.0.1"],
        duration: SERVER_DURATION,
        renewBefore: SERVER_RENEW_BEFORE,
        usages: ["server auth", "digital signature"],
        privateKey,
        issuerRef: { group: "cert-manager.io", kind: "Issuer", name: `${app}-ca` },
      },
    },
    after([caIssuer]),
  );
  return [selfSigned, ca, caIssuer, server];
}
