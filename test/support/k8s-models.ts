/**
 * Validates Kubernetes manifests against the OpenAPI schemas shipped by kubernetes-models and the
 * @kubernetes-models packages for cert-manager, prometheus-operator, the Gateway API (2.0.0: the
 * v1.5 standard-channel CRDs, a superset of the v1 fields plinth writes) and Traefik (2.0.0). An object whose
 * apiVersion/kind has no model here fails: every kind the program writes must be checkable.
 */
import { Certificate, ClusterIssuer, Issuer } from "@kubernetes-models/cert-manager/cert-manager.io/v1";
import {
  Gateway,
  GatewayClass,
  HTTPRoute,
} from "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1";
import { Middleware } from "@kubernetes-models/traefik/traefik.io/v1alpha1";
import {
  PodMonitor,
  PrometheusRule,
  ServiceMonitor,
} from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import { Deployment, StatefulSet } from "kubernetes-models/apps/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { CronJob } from "kubernetes-models/batch/v1";
import { Ingress, NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { StorageClass } from "kubernetes-models/storage.k8s.io/v1";
import {
  ConfigMap,
  Namespace,
  PersistentVolumeClaim,
  Secret,
  Service,
  ServiceAccount,
} from "kubernetes-models/v1";

type ModelClass = new (data: never) => { validate(): void };

const MODELS: Record<string, ModelClass> = {
  "apps/v1/Deployment": Deployment,
  "apps/v1/StatefulSet": StatefulSet,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "batch/v1/CronJob": CronJob,
  "networking.k8s.io/v1/Ingress": Ingress,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "storage.k8s.io/v1/StorageClass": StorageClass,
  "v1/ConfigMap": ConfigMap,
  "v1/Namespace": Namespace,
  "v1/PersistentVolumeClaim": PersistentVolumeClaim,
  "v1/Secret": Secret,
  "v1/Service": Service,
  "v1/ServiceAccount": ServiceAccount,
  "cert-manager.io/v1/ClusterIssuer": ClusterIssuer,
  "cert-manager.io/v1/Issuer": Issuer,
  "cert-manager.io/v1/Certificate": Certificate,
  "monitoring.coreos.com/v1/PodMonitor": PodMonitor,
  "monitoring.coreos.com/v1/PrometheusRule": PrometheusRule,
  "monitoring.coreos.com/v1/ServiceMonitor": ServiceMonitor,
  "gateway.networking.k8s.io/v1/Gateway": Gateway,
  "gateway.networking.k8s.io/v1/GatewayClass": GatewayClass,
  "gateway.networking.k8s.io/v1/HTTPRoute": HTTPRoute,
  "traefik.io/v1alpha1/Middleware": Middleware,
};

/** Throws with the schema error (or "no model") for an invalid manifest. */
export function validateManifest(object: Record<string, unknown>): void {
  const key = `${String(object.apiVersion)}/${String(object.kind)}`;
  const Model = MODELS[key];
  if (!Model) throw new Error(`no schema model for ${key}`);
  new Model(object as never).validate();
}
