/**
 * MLflow storage on a cluster without a cloud behind it (`existing`): PostgreSQL as a hardened
 * StatefulSet with a persistent volume, reachable only from the MLflow server. Artifacts live on
 * a volume the server proxies (`--serve-artifacts`), so no client needs storage credentials.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type * as random from "@pulumi/random";
import { selectorLabels, standardLabels } from "../shared/labels.js";
import { ingressOnlyFrom } from "../shared/network-policy.js";
import { hardenedContainer, hardenedPodSpec, scratchVolume, type Resources } from "../shared/workload.js";
import {
  DATABASE_NAME,
  DATABASE_USER,
  postgresUri,
  type DatabaseOptions,
  type MlflowStorage,
} from "./types.js";
import { clusterService } from "../shared/service.js";

export interface InClusterStorageOptions {
  readonly postgresImage: string;
  /** StorageClass of the data volume. @default the cluster's default class */
  readonly storageClass?: string;
  readonly database: DatabaseOptions;
  readonly password: random.RandomPassword;
  readonly protect: boolean;
  readonly namespace: string;
  /** Pod labels of the MLflow server: the only client of the database. */
  readonly serverPodLabels: Record<string, string>;
  readonly opts: pulumi.CustomResourceOptions;
}

/** The postgres image's own user. */
const POSTGRES_UID = 999;
const POSTGRES_PORT = 5432;
const POSTGRES_RESOURCES: Resources = {
  requests: { cpu: "250m", memory: "512Mi" },
  limits: { cpu: "1", memory: "1Gi" },
};

export function inClusterStorage(name: string, options: InClusterStorageOptions): MlflowStorage {
  const app = `${name}-postgres`;
  const labels = standardLabels(app, "database");
  const selector = selectorLabels(app, "database");
  const { namespace, opts } = options;
  const secret = new k8s.core.v1.Secret(
    `${name}-postgres-secret`,
    {
      metadata: { name: `${app}-credentials`, namespace, labels },
      type: "Opaque",
      stringData: { password: pulumi.secret(options.password.result) },
    },
    opts,
  );
  const isReady = {
    exec: { command: ["pg_isready", "-h", "127.0.0.1", "-U", DATABASE_USER, "-d", DATABASE_NAME] },
  };
  const run = scratchVolume("run", "/var/run/postgresql");
  const tmp = scratchVolume("tmp", "/tmp");
  const container = hardenedContainer({
    name: "postgres",
    image: options.postgresImage,
    env: [
      { name: "POSTGRES_DB", value: DATABASE_NAME },
      { name: "POSTGRES_USER", value: DATABASE_USER },
      {
        name: "POSTGRES_PASSWORD",
        valueFrom: { secretKeyRef: { name: secret.metadata.name, key: "password" } },
      },
      { name: "PGDATA", value: "/var/lib/postgresql/data/pgdata" },
    ],
    ports: [{ name: "postgres", containerPort: POSTGRES_PORT }],
    resources: POSTGRES_RESOURCES,
    probes: {
      startup: { ...isReady, periodSeconds: 5, failureThreshold: 60, timeoutSeconds: 3 },
      readiness: { ...isReady, periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 3 },
      liveness: {
        tcpSocket: { port: "postgres" },
        periodSeconds: 20,
        failureThreshold: 3,
        timeoutSeconds: 3,
      },
    },
    volumeMounts: [{ name: "data", mountPath: "/var/lib/postgresql/data" }, run.mount, tmp.mount],
  });
  const service = clusterService(
    `${name}-postgres-service`,
    { name: app, namespace, labels, selector, port: { name: "postgres", number: POSTGRES_PORT } },
    opts,
  );
  const statefulSet = new k8s.apps.v1.StatefulSet(
    `${name}-postgres`,
    {
      metadata: { name: app, namespace, labels },
      spec: {
        serviceName: app,
        replicas: 1,
        selector: { matchLabels: selector },
        persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
        template: {
          metadata: { labels },
          spec: hardenedPodSpec({
            containers: [container],
            runAsUser: POSTGRES_UID,
            volumes: [run.volume, tmp.volume],
          }),
        },
        volumeClaimTemplates: [
          {
            metadata: { name: "data", labels },
            spec: {
              accessModes: ["ReadWriteOnce"],
              ...(options.storageClass ? { storageClassName: options.storageClass } : {}),
              resources: { requests: { storage: `${options.database.storageGb}Gi` } },
            },
          },
        ],
      },
    },
    { ...opts, protect: options.protect },
  );
  ingressOnlyFrom(
    `${name}-postgres-netpol`,
    namespace,
    selector,
    labels,
    [{ port: POSTGRES_PORT, from: [{ namespace, podLabels: options.serverPodLabels }] }],
    opts,
  );
  return {
    backendStoreUri: postgresUri(
      options.password.result,
      pulumi.interpolate`${service.metadata.name}.${namespace}.svc.cluster.local`,
      false,
    ),
    serverAnnotations: pulumi.output<Record<string, string>>({}),
    readiness: [statefulSet],
  };
}
