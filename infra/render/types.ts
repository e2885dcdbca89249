/** The shape of a rendered stack: what the program would ask the engine to create, by value. */
import type { Cloud } from "../config/schema.js";

export type { Cloud };
export type StackName = "staging" | "production";

export interface RenderedResource {
  urn: string;
  /** Pulumi type token, e.g. `kubernetes:apps/v1:Deployment` or `plinth:inference:InferenceService`. */
  type: string;
  /** Logical (Pulumi) name. */
  name: string;
  /** Inputs as the program sent them, secrets unwrapped to their values (see secretInputs/secretPaths). */
  inputs: Record<string, unknown>;
  protect: boolean;
  /** URN of the parent resource; absent for top-level resources. */
  parent?: string;
  /** URN of the explicit provider; absent when the default provider would be used. */
  provider?: string;
  /** URNs from dependsOn and from the outputs this resource's inputs were computed from. */
  dependencies: string[];
  /** Input properties later changes of which the engine ignores (the `ignoreChanges` option); absent when none. */
  ignoreChanges?: string[];
  /** Top-level input keys that were secret (or held a secret somewhere inside). */
  secretInputs: string[];
  /** Every secret value's path inside inputs, e.g. `stringData.cookie-secret`. */
  secretPaths: string[];
}

export interface RenderedStack {
  project: "plinth";
  stack: string;
  cloud: Cloud;
  resources: RenderedResource[];
  /** Stack outputs; secret ones are replaced by the string "[secret]" and listed in secretOutputs. */
  outputs: Record<string, unknown>;
  secretOutputs: string[];
}

export interface RenderOptions {
  stack: StackName;
  /** Overrides plinth:cloud from the stack file. */
  cloud?: Cloud;
  /**
   * Overrides of plinth:* keys (with or without the `plinth:` prefix), deep-merged into the stack
   * file's values: objects merge key by key, anything else replaces, `null` removes the key.
   */
  config?: Record<string, unknown>;
}
