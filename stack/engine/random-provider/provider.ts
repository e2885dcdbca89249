/**
 * The resource provider behind plinth's `pulumi-resource-random`, on @pulumi/pulumi's provider API.
 * It implements `random:index/randomPassword:RandomPassword`, the one random resource plinth uses:
 * the id is "none" (as in the random provider), the password is the `result` output, returned as a
 * secret. Every input change replaces the password, so there is no Update.
 *
 * Not implemented: `bcryptHash`. Neither node:crypto nor the repository's dependencies include
 * bcrypt; the output stays unset (plinth does not read it).
 */
import type * as pulumiProvider from "@pulumi/pulumi/provider/index.js";
import { generatePassword } from "./password.js";
import { checkPasswordInputs, PASSWORD_INPUTS, passwordSpec, type PropertyMap } from "./password-inputs.js";
import { sameValue, secret } from "./property-values.js";
import { RANDOM_PASSWORD_TYPE, randomSchema } from "./schema.js";

/** The resource type named by a URN (urn:pulumi:stack::project::[parent$]type::name). */
export function urnType(urn: string): string {
  const qualifiedType = urn.split("::")[2] ?? "";
  return qualifiedType.split("$").at(-1) ?? "";
}

function requirePasswordType(urn: string): void {
  const type = urnType(urn);
  if (type !== RANDOM_PASSWORD_TYPE) {
    throw new Error(`plinth's random provider implements only ${RANDOM_PASSWORD_TYPE}, not ${type}`);
  }
}

export const PASSWORD_ID = "none";

export function randomProvider(version: string): pulumiProvider.Provider {
  return {
    version,
    getSchema: async () => randomSchema(version),

    check: async (urn, _olds: PropertyMap, news: PropertyMap) => {
      requirePasswordType(urn);
      return checkPasswordInputs(news);
    },

    diff: async (_id, urn, olds: PropertyMap, news: PropertyMap) => {
      requirePasswordType(urn);
      const replaces = PASSWORD_INPUTS.filter((key) => !sameValue(olds[key], news[key]));
      return { changes: replaces.length > 0, replaces, deleteBeforeReplace: false };
    },

    create: async (urn, inputs: PropertyMap) => {
      requirePasswordType(urn);
      const result = generatePassword(passwordSpec(inputs));
      return { id: PASSWORD_ID, outs: { ...inputs, result: secret(result) } };
    },

    // The password exists only in the stack's state: reading gives back what the state holds.
    read: async (id, urn, props?: PropertyMap) => {
      requirePasswordType(urn);
      return { id, props: props ?? {} };
    },

    // Nothing to delete outside the state.
    delete: async (_id, urn) => {
      requirePasswordType(urn);
    },
  };
}
