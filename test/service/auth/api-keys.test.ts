import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ApiKeyVerifier } from "../../../service/auth/api-keys.js";

const sha256 = (key: string) => createHash("sha256").update(key).digest("hex");
const ALICE = "alice-key-0123456789abcdef";
const OPS = "ops-key-0123456789abcdef";

function verifier() {
  return new ApiKeyVerifier([
    { identity: "alice", sha256: sha256(ALICE) },
    { identity: "ops", sha256: sha256(OPS), roles: ["admin"] },
  ]);
}

describe("ApiKeyVerifier", () => {
  it("names the key's owner with its roles, and nobody for a wrong key", () => {
    const keys = verifier();
    expect(keys.verify(ALICE)).toEqual({ identity: "key:alice", method: "api-key", roles: [] });
    expect(keys.verify(OPS)).toEqual({ identity: "key:ops", method: "api-key", roles: ["admin"] });
    expect(keys.verify(ALICE.slice(0, -1))).toBeUndefined();
    expect(keys.verify(`${ALICE}x`)).toBeUndefined();
    expect(keys.verify("")).toBeUndefined();
  });

  it("remembers verified keys only, at most one per configured key, and answers the same caller from memory", () => {
    const keys = verifier();
    for (let i = 0; i < 1000; i++) expect(keys.verify(`guess-${i}`)).toBeUndefined();
    expect(keys.remembered).toBe(0);
    const first = keys.verify(ALICE);
    expect(keys.remembered).toBe(1);
    expect(keys.verify(ALICE)).toBe(first);
    keys.verify(OPS);
    keys.verify(OPS);
    expect(keys.remembered).toBe(2);
    // A wrong key after the right one is still hashed and refused.
    expect(keys.verify(ALICE.toUpperCase())).toBeUndefined();
    expect(keys.remembered).toBe(2);
  });

  it("hands out callers nobody can change", () => {
    const principal = verifier().verify(OPS)!;
    expect(Object.isFrozen(principal)).toBe(true);
    expect(Object.isFrozen(principal.roles)).toBe(true);
  });
});
