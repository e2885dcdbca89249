/**
 * The admin panel opened under the process's model name (`/models/<MODEL_NAME>/admin`) in real
 * headless Chromium: it loads its script and stylesheet from beside it, reads that base's
 * `ops/summary`, and its reload button posts to that base's `reload-model`; nothing goes to the
 * bare routes (which the edge sends to the stack's default model, another process).
 */
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURE_NAME } from "../inference/fixture-model.js";
import { OPS_HEADERS, startRolloutService } from "../rollout/rollout-fixture.js";
import type { TestService } from "../server/service-fixture.js";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "../../support/chromium.js";

const BASE = `/models/${FIXTURE_NAME}`;

let browser: Browser;
let svc: TestService;
let url: string;
beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS] });
  svc = await startRolloutService({ ROLLOUT_STRATEGY: "canary", CANDIDATE_WEIGHT: "30" });
  url = await svc.app.listen({ host: "127.0.0.1", port: 0 });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await svc?.close();
});

describe("admin panel under the model's name", () => {
  it("loads its assets and data from beside it and reloads there", async () => {
    const page = await browser.newPage();
    try {
      const requests: string[] = [];
      page.on("request", (request) =>
        requests.push(`${request.method()} ${new URL(request.url()).pathname}`),
      );
      const response = await page.goto(`${url}${BASE}/admin?poll=1000`);
      expect(response?.status()).toBe(200);
      await page.locator("#signin").waitFor({ state: "visible" });
      await page.fill("#api-key", OPS_HEADERS["x-api-key"]);
      await page.click("#signin-form button[type=submit]");
      await page.locator("#main").waitFor({ state: "visible" });
      expect(await page.textContent("#model")).toBe(FIXTURE_NAME);
      expect(await page.textContent("#stable-version")).toBe("v1");
      expect(await page.textContent("#candidate-version")).toBe("v2");
      // The stylesheet applied: the main section is laid out by panel.css's grid.
      expect(
        await page
          .locator(".cards")
          .evaluate((el) => el.ownerDocument.defaultView!.getComputedStyle(el).display),
      ).toBe("grid");

      await page.selectOption("#reload-variant", "stable");
      await page.click("#reload");
      await page.locator("#notice.ok").waitFor();
      expect(await page.textContent("#notice")).toBe("Reload done: stable: unchanged (v1)");
      expect(svc.rollout.snapshot().lastReload).toMatchObject({ trigger: "api", by: "key:ops" });

      expect(requests).toEqual(
        expect.arrayContaining([
          `GET ${BASE}/admin`,
          `GET ${BASE}/admin/panel.css`,
          `GET ${BASE}/admin/panel.js`,
          `GET ${BASE}/admin/charts.js`,
          `GET ${BASE}/ops/summary`,
          `POST ${BASE}/reload-model`,
        ]),
      );
      expect(requests.filter((r) => !r.includes(` ${BASE}/`))).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
