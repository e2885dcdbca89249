import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JsonlFile } from "../../../service/ops/jsonl-file.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "plinth-jsonl-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("JsonlFile", () => {
  it("appends a batch as lines and rotates to <path>.1 at the size cap, keeping one old file", async () => {
    const file = path.join(dir, "capped.jsonl");
    const jsonl = new JsonlFile(file, 30); // each record below is 12 bytes with its newline
    await jsonl.append([{ n: 1000 }, { n: 2000 }]);
    await jsonl.append([{ n: 3000 }]); // 36 > 30: rotate first
    await jsonl.append([{ n: 4000 }]);
    await jsonl.append([{ n: 5000 }, { n: 6000 }]); // 48 > 30: rotate again, the first file is gone
    expect(await readFile(`${file}.1`, "utf8")).toBe('{"n":3000}\n{"n":4000}\n');
    expect(await readFile(file, "utf8")).toBe('{"n":5000}\n{"n":6000}\n');
  });

  it("rejects a write into a missing folder, and keeps working for later writes", async () => {
    const jsonl = new JsonlFile(path.join(dir, "missing", "x.jsonl"), 1024);
    await expect(jsonl.append([{ a: 1 }])).rejects.toThrow(/ENOENT/);
    await expect(jsonl.append([{ a: 2 }])).rejects.toThrow(/ENOENT/);
  });
});
