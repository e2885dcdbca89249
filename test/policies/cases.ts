/**
 * The shape of every policy test: the compliant fixture stack passes; changing one property (or
 * adding one forbidden resource, or removing one required resource) yields exactly one violation, on
 * that resource (or the one named by reportedOn), with that message.
 */
import { describe, expect, it } from "vitest";
import type { PlinthPolicy } from "../../policies/lib/policy.js";
import { evaluatePolicies } from "../../policies/runner/evaluate.js";
import type { PackConfig, PolicyTarget } from "../../policies/runner/evaluate.js";
import { awsStack, gcpStack } from "./fixtures/clouds.js";
import { gatewayStack } from "./fixtures/gateway.js";
import { kubernetesStack } from "./fixtures/kubernetes.js";
import { setPath } from "./fixtures/target.js";

export const STACK_FIXTURES = {
  kubernetes: kubernetesStack,
  gateway: gatewayStack,
  aws: awsStack,
  gcp: gcpStack,
};
export type FixtureStack = keyof typeof STACK_FIXTURES;

interface BaseCase {
  /** What the one change is, as the test's name. */
  change: string;
  stack: FixtureStack;
  message: string;
  config?: PackConfig[string];
  /** The resource the finding names ("Kind:name"), when a stack policy reports it on another resource. */
  reportedOn?: string;
}
/** Change `path` of the resource named `resource` ("Kind:name"). */
export interface ChangeCase extends BaseCase {
  resource: string;
  path: (string | number)[];
  value: unknown;
}
/** Add one resource that the policy forbids outright. */
export interface AddCase extends BaseCase {
  add: PolicyTarget;
}
/** Change one resource option (protect, or the dependency edges) of the resource named `resource`. */
export interface OptionCase extends BaseCase {
  resource: string;
  option: Partial<Pick<PolicyTarget, "protect" | "dependencies">>;
}
/** Remove the resource named `remove` ("Kind:name") that the policy requires; the finding is on another. */
export interface RemoveCase extends BaseCase {
  remove: string;
  reportedOn: string;
}
export type PolicyCase = ChangeCase | AddCase | OptionCase | RemoveCase;

function find(stack: PolicyTarget[], resource: string): PolicyTarget {
  const found = stack.find((t) => `${t.type.split(":").pop()}:${t.name}` === resource);
  if (!found) throw new Error(`fixture stack has no ${resource}`);
  return found;
}

async function violationsOf(policy: PlinthPolicy, stack: PolicyTarget[], config?: PackConfig[string]) {
  const found = await evaluatePolicies([policy], stack, config ? { [policy.name]: config } : {});
  return found.map((v) => ({ urn: v.urn, level: v.level, message: v.message }));
}

/** Registers the tests of one policy: clean on every fixture stack, then one finding per case. */
export function describePolicy(policy: PlinthPolicy, cases: PolicyCase[]): void {
  describe(policy.name, () => {
    it("passes the compliant fixtures", async () => {
      for (const fixture of Object.values(STACK_FIXTURES)) {
        expect(await violationsOf(policy, fixture())).toEqual([]);
      }
    });
    it.each(cases.map((c) => [c.change, c] as const))("reports %s", async (_name, testCase) => {
      const stack = STACK_FIXTURES[testCase.stack]();
      let subject: PolicyTarget;
      if ("add" in testCase) {
        subject = testCase.add;
        stack.push(subject);
      } else if ("remove" in testCase) {
        subject = find(stack, testCase.remove);
        stack.splice(stack.indexOf(subject), 1);
      } else if ("option" in testCase) {
        subject = find(stack, testCase.resource);
        Object.assign(subject, testCase.option);
      } else {
        subject = find(stack, testCase.resource);
        setPath(subject.props, testCase.path, testCase.value);
      }
      const reportedOn = testCase.reportedOn ? find(stack, testCase.reportedOn) : subject;
      expect(await violationsOf(policy, stack, testCase.config)).toEqual([
        { urn: reportedOn.urn, level: "mandatory", message: testCase.message },
      ]);
    });
  });
}
