/**
 * Entry point of the Pulumi program (Pulumi.yaml `main`). Reads and validates the stack config,
 * builds the stack and exports its outputs. A config error stops the run before any resource is
 * registered, listing every bad key; so does an API allowlist this run cannot deploy through
 * (a placeholder, a documentation range, a private endpoint from a GitHub-hosted runner).
 */
import { assertDeployTarget } from "./config/deploy-target.js";
import { readStackConfig } from "./config/load.js";
import { createPlinthStack } from "./program.js";

const config = readStackConfig();
assertDeployTarget(config, process.env);
const outputs = createPlinthStack(config);

export const cloud = outputs.cloud;
export const kubeconfig = outputs.kubeconfig;
export const apiUrl = outputs.apiUrl;
export const adminUrl = outputs.adminUrl;
export const mlflowUrl = outputs.mlflowUrl;
export const grafanaUrl = outputs.grafanaUrl;
export const prometheusUrl = outputs.prometheusUrl;
export const mlflowTrackingUri = outputs.mlflowTrackingUri;
export const rolloutStrategy = outputs.rolloutStrategy;
export const activeColour = outputs.activeColour;
export const platformApiKey = outputs.platformApiKey;
export const grafanaAdminPassword = outputs.grafanaAdminPassword;
