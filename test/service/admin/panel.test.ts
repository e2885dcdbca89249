/**
 * The admin panel in real headless Chromium (Debian `chromium`, installed by
 * scripts/install-test-tools.sh, driven by playwright-core): it loads, signs in with an admin key,
 * shows the versions and the charts, its reload button reloads (seen in the summary and the audit
 * log), and oauth2-proxy's header is refused when untrusted and checked when trusted.
 * The screenshot is kept at out/admin-panel.png.
 */
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditRecord } from "../../../service/ops/audit.js";
import { writeVersionFiles } from "../ops/version-files.js";
import { OPS_HEADERS, predictRow, startRolloutService } from "../rollout/rollout-fixture.js";
import { API_KEY, startTestService, type TestService } from "../server/service-fixture.js";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "../../support/chromium.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const SCREENSHOT = path.join(ROOT, "out/admin-panel.png");
const OPS_KEY = OPS_HEADERS["x-api-key"];

const TRAINING = {
  trainingSummary: {
    architecture: "conv(1→12,3x3)-relu-maxpool-conv(12→24,3x3)-relu-maxpool-dense(1176→64)-relu-dense(64→10)",
    test: { accuracy: 0.9071, macroF1: 0.9064 },
    finishedAt: "2026-11-22T03:00:00.000Z",
  },
  qualityReport: { passed: true, skipped: false, checks: [{ name: "schema", status: "pass" }] },
};

/** Traffic in bursts, sampled between them, so every chart has a few points; the last burst drifts. */
async function traffic(svc: TestService): Promise<void> {
  let user = 0;
  for (let burst = 0; burst < 6; burst++) {
    const n = 20 + burst * 6;
    for (let i = 0; i < n; i++) {
      const cls = burst === 5 ? 1 : i % 10; // the last burst only ever shows trousers: drift
      expect((await predictRow(svc, cls, { ...OPS_HEADERS, "x-user-id": `u${user++}` })).status).toBe(200);
    }
    await svc.observability.traffic.sample();
    svc.observability.drift.summarise();
  }
}

let browser: Browser;
let dir: string;
beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS] });
  dir = await mkdtemp(path.join(tmpdir(), "plinth-panel-"));
  await mkdir(path.dirname(SCREENSHOT), { recursive: true });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("admin panel, trusted headers off", () => {
  let svc: TestService;
  let url: string;
  const audit = () => path.join(dir, "audit-off.jsonl");
  beforeAll(async () => {
    svc = await startRolloutService({
      ROLLOUT_STRATEGY: "canary",
      CANDIDATE_WEIGHT: "30",
      DRIFT_WINDOW_SIZE: "60",
      DRIFT_MIN_SAMPLES: "10",
      AUDIT_LOG_PATH: audit(),
      OPS_SAMPLE_INTERVAL_MS: "600000",
    });
    await writeVersionFiles(svc.registry, "1", TRAINING);
    url = await svc.app.listen({ host: "127.0.0.1", port: 0 });
    await traffic(svc);
  }, 60_000);
  afterAll(() => svc.close());

  it.each(["1", "Infinity", "4294967296"])(
    "polls no faster than once a second with ?poll=%s (setInterval would take Infinity and 2^32 as 0)",
    async (poll) => {
      const page = await browser.newPage();
      try {
        const polls: number[] = [];
        page.on("request", (request) => {
          if (new URL(request.url()).pathname === "/ops/summary") polls.push(Date.now());
        });
        await page.goto(`${url}/admin?poll=${poll}`);
        await page.locator("#signin").waitFor({ state: "visible" });
        await page.fill("#api-key", OPS_KEY);
        await page.click("#signin-form button[type=submit]");
        await page.locator("#main").waitFor({ state: "visible" });
        const from = polls.length;
        await page.waitForTimeout(3000);
        // ?poll=1: at the floor, about three in 3 s. Infinity: the default 5 s. 2^32: the 10-minute
        // ceiling. Unbounded, any of them would be hundreds.
        if (poll === "1") expect(polls.length - from).toBeGreaterThanOrEqual(1);
        expect(polls.length - from).toBeLessThanOrEqual(4);
      } finally {
        await page.close();
      }
    },
  );

  it("signs in with an admin key, shows versions and charts, and reloads from the button", async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    try {
      const response = await page.goto(`${url}/admin?poll=1000`);
      expect(response?.status()).toBe(200);
      expect(response?.headers()["content-security-policy"]).toContain("script-src 'self'");
      await page.locator("#signin").waitFor({ state: "visible" });
      await page.fill("#api-key", OPS_KEY);
      await page.click("#signin-form button[type=submit]");
      await page.locator("#main").waitFor({ state: "visible" });
      expect(await page.textContent("#stable-version")).toBe("v1");
      expect(await page.textContent("#candidate-version")).toBe("v2");
      expect(await page.textContent("#stable-ref")).toBe("ref champion · alias champion");
      expect(await page.textContent("#candidate-ref")).toBe("ref challenger · alias challenger");
      expect(await page.textContent("#strategy")).toBe("canary");
      expect(await page.textContent("#requests")).toBe("210");
      expect(await page.textContent("#split-hint")).toBe("requests/s · weights 70% / 30%");
      for (const chart of ["#chart-latency", "#chart-traffic", "#chart-drift"]) {
        expect(await page.locator(`${chart} polyline`).count()).toBeGreaterThan(0);
      }
      expect(await page.locator("#chart-drift line.threshold").count()).toBe(2);
      expect(await page.locator("#chart-agreement circle").count()).toBe(1); // shadow off: the empty ring

      await page.selectOption("#reload-variant", "stable");
      await page.click("#reload");
      await page.locator("#notice.ok").waitFor();
      expect(await page.textContent("#notice")).toBe("Reload done: stable: unchanged (v1)");
      await page.locator("#audit-rows td.result-ok").first().waitFor();
      expect(await page.textContent("#audit-rows tr:first-child td:nth-child(2)")).toBe("key:ops");

      const records = (await readFile(audit(), "utf8"))
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as AuditRecord);
      expect(records.map((r) => [r.who, r.action, r.result, r.detail?.variant])).toEqual([
        ["key:ops", "reload-model", "ok", "stable"],
      ]);
      expect(svc.rollout.snapshot().lastReload).toMatchObject({
        trigger: "api",
        variant: "stable",
        by: "key:ops",
      });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
    } finally {
      await page.close();
    }
  });

  it("refuses a forged X-Auth-Request-Email: the page asks for a key and shows no data", async () => {
    const context = await browser.newContext({
      extraHTTPHeaders: { "x-auth-request-email": "admin@example.com", "x-auth-request-groups": "admins" },
    });
    try {
      const page = await context.newPage();
      const summary = page.waitForResponse((r) => r.url().endsWith("/ops/summary"));
      await page.goto(`${url}/admin`);
      expect((await summary).status()).toBe(401);
      await page.locator("#signin").waitFor({ state: "visible" });
      expect(await page.locator("#main").isHidden()).toBe(true);
      expect(await page.textContent("#stable-version")).toBe("–");
    } finally {
      await context.close();
    }
  });
});

describe("admin panel behind oauth2-proxy (OPS_OIDC_TRUST_HEADERS=true)", () => {
  let svc: TestService;
  let url: string;
  beforeAll(async () => {
    svc = await startRolloutService({
      ROLLOUT_STRATEGY: "shadow",
      OPS_OIDC_TRUST_HEADERS: "true",
      OPS_OIDC_ALLOWED_EMAIL_DOMAINS: "example.com",
      OPS_OIDC_ADMIN_GROUPS: "admins",
    });
    url = await svc.app.listen({ host: "127.0.0.1", port: 0 });
  }, 60_000);
  afterAll(() => svc.close());

  it("shows the panel to an allowed user without asking for a key", async () => {
    const context = await browser.newContext({
      extraHTTPHeaders: { "x-auth-request-email": "alice@example.com", "x-auth-request-groups": "admins" },
    });
    try {
      const page = await context.newPage();
      await page.goto(`${url}/admin`);
      await page.locator("#main").waitFor({ state: "visible" });
      expect(await page.textContent("#stable-version")).toBe("v1");
      expect(await page.textContent("#strategy")).toBe("shadow");
      expect(await page.locator("#signin").isVisible()).toBe(false);
    } finally {
      await context.close();
    }
  });

  it("lets the signed-in user reload from the panel, and refuses the same POST from another page (CSRF)", async () => {
    // The header stands for oauth2-proxy's cookie: the browser sends it on every request, the
    // attacker's included, as it would the cookie to a sibling host.
    const context = await browser.newContext({
      extraHTTPHeaders: { "x-auth-request-email": "alice@example.com", "x-auth-request-groups": "admins" },
    });
    const attacker = createServer((_request, response) => {
      response.setHeader("content-type", "text/html");
      response.end("<!doctype html><title>elsewhere</title>");
    });
    await new Promise<void>((resolve) => attacker.listen(0, "127.0.0.1", resolve));
    try {
      const page = await context.newPage();
      await page.goto(`${url}/admin`);
      await page.locator("#main").waitFor({ state: "visible" });
      await page.selectOption("#reload-variant", "stable");
      await page.click("#reload");
      await page.locator("#notice.ok").waitFor();
      expect(await page.textContent("#notice")).toBe("Reload done: stable: unchanged (v1)");

      // Another origin on the same host (another port): same site, so a lax cookie would go along.
      const elsewhere = await context.newPage();
      await elsewhere.goto(`http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`);
      await elsewhere.evaluate(async (target) => {
        await fetch(`${target}/reload-model`, { method: "POST", mode: "no-cors", credentials: "include" });
      }, url);
      const { actions, refusals } = svc.observability.audit.recent();
      expect(actions.map((r) => [r.who, r.action, r.result])).toEqual([
        ["email:alice@example.com", "reload-model", "ok"],
      ]);
      expect(refusals.map((r) => [r.who, r.result, r.detail?.reason])).toEqual([
        [
          "email:alice@example.com",
          "denied",
          "cross-site request refused: an admin action from a browser must come from this service's own pages (the browser marked it Sec-Fetch-Site: same-site)",
        ],
      ]);
    } finally {
      await context.close();
      attacker.close();
    }
  });

  it("refuses a user of another domain, page and data alike", async () => {
    const context = await browser.newContext({
      extraHTTPHeaders: { "x-auth-request-email": "mallory@evil.com" },
    });
    try {
      const page = await context.newPage();
      const response = await page.goto(`${url}/admin`);
      expect(response?.status()).toBe(403);
      expect(await response?.json()).toMatchObject({
        error: {
          code: "FORBIDDEN",
          message: "email domain evil.com is not allowed to administer this service",
        },
      });
      const data = await page.evaluate(async () => (await fetch("/ops/summary")).status);
      expect(data).toBe(403);
    } finally {
      await context.close();
    }
  });
});

describe("admin panel, the model awaiting its first version (issue #18)", () => {
  let svc: TestService;
  let url: string;
  beforeAll(async () => {
    // The registry holds version 1, but no alias "newest": nothing to load yet.
    svc = await startTestService({ MODEL_STABLE: "newest", API_KEY_ROLES: "tester:admin" });
    url = await svc.app.listen({ host: "127.0.0.1", port: 0 });
  }, 60_000);
  afterAll(() => svc.close());

  it("says the stable variant awaits its first version, the registry and what to do", async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${url}/admin?poll=1000`);
      await page.locator("#signin").waitFor({ state: "visible" });
      await page.fill("#api-key", API_KEY);
      await page.click("#signin-form button[type=submit]");
      await page.locator("#main").waitFor({ state: "visible" });
      expect(await page.textContent("#stable-version")).toBe("awaiting first version");
      expect(await page.locator(".card.variant.stable[data-level=warn]").count()).toBe(1);
      const ref = await page.textContent("#stable-ref");
      expect(ref).toContain("ref newest · not ready · stable (newest) awaiting its first version");
      expect(ref).toContain(`names no version in ${svc.registry.dir} yet`);
      expect(ref).toContain('set its alias "newest" to it');
    } finally {
      await page.close();
    }
  });
});
