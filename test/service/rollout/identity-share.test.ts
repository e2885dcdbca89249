import { describe, expect, it } from "vitest";
import { IdentityShares, overShare, routingIdentity } from "../../../service/rollout/identity-share.js";

const request = (principal: { identity?: string } | null, ip?: string) => ({
  id: "req-1",
  headers: { "x-user-id": "chosen-by-the-client" },
  principal: principal === null ? null : { roles: [], ...principal },
  log: { warn: () => undefined },
  ...(ip === undefined ? {} : { ip }),
});

describe("routingIdentity", () => {
  it("is the principal's identity, else the client address, never the client-chosen sticky key", () => {
    expect(routingIdentity(request({ identity: "key:tester" }, "10.0.0.1"))).toBe("key:tester");
    expect(routingIdentity(request(null, "10.0.0.1"))).toBe("address:10.0.0.1");
    expect(routingIdentity(request({}, "10.0.0.2"))).toBe("address:10.0.0.2");
    expect(routingIdentity(request(null))).toBe("anonymous");
  });
});

describe("IdentityShares", () => {
  it("bounds the rows one identity holds, apart from every other identity", () => {
    const shares = new IdentityShares(4);
    expect(shares.tryAcquire("a", 3)).toBe(true);
    expect(shares.tryAcquire("a", 1)).toBe(true);
    expect(shares.tryAcquire("a", 1)).toBe(false);
    expect(shares.tryAcquire("b", 4)).toBe(true);
    shares.release("a", 3);
    expect(shares.heldBy("a")).toBe(1);
    expect(shares.tryAcquire("a", 3)).toBe(true);
  });

  it("lets a caller that holds nothing through once, whatever its size", () => {
    const shares = new IdentityShares(2);
    expect(shares.tryAcquire("a", 10)).toBe(true);
    expect(shares.tryAcquire("a", 1)).toBe(false);
    shares.release("a", 10);
    expect(shares.heldBy("a")).toBe(0);
  });

  it("refuses with a 429 that says how much the caller holds, with Retry-After", () => {
    const shares = new IdentityShares(2);
    shares.tryAcquire("a", 2);
    const err = overShare(shares, "a");
    expect(err.statusCode).toBe(429);
    expect(err.code).toBe("RATE_LIMITED");
    expect(err.headers).toEqual({ "retry-after": "1" });
    expect(err.message).toContain("it holds 2 of the 2 rows one caller may (CANDIDATE_IDENTITY_SHARE)");
  });
});
