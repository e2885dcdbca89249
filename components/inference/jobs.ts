/**
 * The inference service's scheduled jobs, from the same image and with the same hardening as the
 * service: the drift check, and retraining (the training entrypoint) that registers a new version.
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { ingressOnlyFrom } from "../shared/network-policy.js";
import {
  hardenedContainer,
  hardenedPodSpec,
  scratchVolume,
  type Resources,
  type Weakening,
} from "../shared/workload.js";

export interface ScheduledJob {
  /** Role in child names and the CronJob name, e.g. "drift-check". */
  readonly role: string;
  readonly schedule: string;
  readonly command: string[];
  readonly env: k8s.types.input.core.v1.EnvVar[];
  readonly resources: Resources;
  readonly serviceAccountName: pulumi.Input<string>;
  /** Longest a run may take before it is stopped. */
  readonly deadlineSeconds: number;
}

export interface JobContext {
  readonly name: string;
  readonly app: string;
  readonly namespace: string;
  readonly image: string;
  readonly labels: Record<string, string>;
  readonly weaken?: readonly Weakening[];
  readonly opts: pulumi.CustomResourceOptions;
}

/** Labels that select the pods of `app`'s scheduled job `role` (for NetworkPolicies). */
export function jobPodSelector(app: string, role: string): Record<string, string> {
  return { "app.kubernetes.io/name": app, "app.kubernetes.io/component": role };
}

/** A hardened CronJob and a NetworkPolicy that admits nothing to its pods (jobs serve no traffic). */
export function scheduledJob(context: JobContext, job: ScheduledJob): k8s.batch.v1.CronJob {
  const tmp = scratchVolume("tmp", "/tmp", "4Gi");
  const labels = { ...context.labels, "app.kubernetes.io/component": job.role };
  const podSelector = jobPodSelector(context.app, job.role);
  ingressOnlyFrom(
    `${context.name}-${job.role}-netpol`,
    context.namespace,
    podSelector,
    labels,
    [],
    context.opts,
  );
  const container = hardenedContainer({
    name: job.role,
    image: context.image,
    command: job.command,
    env: job.env,
    resources: job.resources,
    volumeMounts: [tmp.mount],
    ...(context.weaken ? { weaken: context.weaken } : {}),
  });
  return new k8s.batch.v1.CronJob(
    `${context.name}-${job.role}`,
    {
      metadata: { name: `${context.app}-${job.role}`, namespace: context.namespace, labels },
      spec: {
        schedule: job.schedule,
        timeZone: "Etc/UTC",
        concurrencyPolicy: "Forbid",
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          spec: {
            backoffLimit: 2,
            activeDeadlineSeconds: job.deadlineSeconds,
            ttlSecondsAfterFinished: 86_400,
            template: {
              metadata: { labels },
              spec: hardenedPodSpec({
                containers: [container],
                serviceAccountName: job.serviceAccountName,
                restartPolicy: "Never",
                volumes: [tmp.volume],
              }),
            },
          },
        },
      },
    },
    context.opts,
  );
}
