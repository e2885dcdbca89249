/**
 * A minimal Pulumi package schema for the one resource this provider implements, for the engine's
 * GetSchema (used by `pulumi package get-schema` and tooling, not by deployments).
 */

export const RANDOM_PASSWORD_TYPE = "random:index/randomPassword:RandomPassword";

const integer = { type: "integer" };
const boolean = { type: "boolean" };
const string = { type: "string" };

const inputProperties = {
  keepers: {
    type: "object",
    additionalProperties: { $ref: "pulumi.json#/Any" },
    description: "Arbitrary map of values that, when changed, will trigger recreation of resource.",
  },
  length: { ...integer, description: "The length of the string desired." },
  lower: {
    ...boolean,
    description: "Include lowercase alphabet characters in the result. Default value is `true`.",
  },
  minLower: { ...integer, description: "Minimum number of lowercase alphabet characters in the result." },
  minNumeric: { ...integer, description: "Minimum number of numeric characters in the result." },
  minSpecial: { ...integer, description: "Minimum number of special characters in the result." },
  minUpper: { ...integer, description: "Minimum number of uppercase alphabet characters in the result." },
  number: { ...boolean, deprecationMessage: "**NOTE**: This is deprecated, use `numeric` instead." },
  numeric: { ...boolean, description: "Include numeric characters in the result. Default value is `true`." },
  overrideSpecial: { ...string, description: "Supply your own list of special characters to use." },
  special: { ...boolean, description: "Include special characters in the result. Default value is `true`." },
  upper: {
    ...boolean,
    description: "Include uppercase alphabet characters in the result. Default value is `true`.",
  },
};

export function randomSchema(version: string): string {
  return JSON.stringify({
    name: "random",
    version,
    description: "plinth's own random provider (RandomPassword only).",
    resources: {
      [RANDOM_PASSWORD_TYPE]: {
        description: "A random password, stored as a secret in the stack's state.",
        inputProperties,
        requiredInputs: ["length"],
        properties: {
          ...inputProperties,
          result: { ...string, secret: true, description: "The generated random string." },
        },
        required: ["length", "lower", "minLower", "minNumeric", "minSpecial", "minUpper", "number", "numeric"]
          .concat(["result", "special", "upper"])
          .sort(),
      },
    },
  });
}
