import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_LISTEN_BACKLOG, listenBacklog } from "../../../service/contract/listen-backlog.js";

const dir = mkdtempSync(path.join(tmpdir(), "backlog-"));
function somaxconn(text: string): string {
  const file = path.join(dir, `somaxconn-${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, text);
  return file;
}

describe("listenBacklog", () => {
  it("is the kernel's net.core.somaxconn", () => {
    expect(listenBacklog(somaxconn("4096\n"))).toBe(4096);
    expect(listenBacklog(somaxconn("65535"))).toBe(65535);
  });

  it("falls back to Node's and nginx's 511 when the ceiling is missing or not a positive integer", () => {
    expect(DEFAULT_LISTEN_BACKLOG).toBe(511);
    expect(listenBacklog(path.join(dir, "absent"))).toBe(511);
    for (const text of ["", "0", "-1", "4096.5", "lots", "4096 4096"]) {
      expect(listenBacklog(somaxconn(text)), JSON.stringify(text)).toBe(511);
    }
  });
});
