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

  it("keeps the first identity when one key is configured twice", () => {
    const keys = new ApiKeyVerifier([
      { identity: "first", sha256: sha256(ALICE) },
      { identity: "second", sha256: sha256(ALICE), roles: ["admin"] },
    ]);
    expect(keys.size).toBe(1);
    expect(keys.verify(ALICE)).toEqual({ identity: "key:first", method: "api-key", roles: [] });
  });

  it("hands out callers nobody can change", () => {
    const principal = verifier().verify(OPS)!;
    expect(Object.isFrozen(principal)).toBe(true);
    expect(Object.isFrozen(principal.roles)).toBe(true);
  });
});
