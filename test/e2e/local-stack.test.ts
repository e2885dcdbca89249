/**
 * The whole system on loopback, end to end: the local stack (stack/local, the same code as
 * `npm run stack:local`) on random ports, driven from outside as a user would: node's https with
 * and without the run's CA, real headless Chromium signing in through oauth2-proxy and the OIDC
 * provider, and Prometheus queried for the predictions made through the edge. Once per edge: Traefik
 * with the middlewares the cluster's Gateway routes carry (the default), and nginx configured as
 * ingress-nginx (the option for clusters that keep it); where their answers differ in form only
 * (the sign-in redirect, the 404 of an unrouted path) test/e2e/edge.ts says how. The signed-in
 * admin panel's screenshot is kept at out/e2e/local-stack-admin-<edge>.png.
 */
import { createHash, X509Certificate } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import https, { createServer as createHttpsServer } from "node:https";
import { lookup } from "node:dns";
import type { AddressInfo } from "node:net";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SESSION_COOKIE, SIGN_IN_RATE_LIMIT } from "../../components/oauth2-proxy/contract.js";
import { PROTECTED_ROUTE_RATE_LIMIT } from "../../components/shared/edge.js";
import { RUNBOOK_BASE_URL } from "../../components/monitoring/index.js";
import { PROTECTED_PATHS, PUBLIC_PATHS } from "../../components/inference/routes.js";
import { productionRuleGroups } from "../../stack/local/prometheus-conf.js";
import {
  ADMIN_GROUP,
  ALLOWED_EMAIL_DOMAIN,
  EDGES,
  OTHER_EMAIL_DOMAIN,
  startLocalStack,
  type LocalStack,
} from "../../stack/local/stack.js";
import { REPO_ROOT } from "../../stack/local/tools.js";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "../support/chromium.js";
import { expectSignInRedirect, expectUnrouted, SERVER_HEADER } from "./edge.js";
import { until } from "../support/until.js";
import { recentLog } from "../support/recent-log.js";

/** What a signed-in admin sees through the whole stack, kept for a look. */
const screenshot = (edge: string) => path.join(REPO_ROOT, "out", "e2e", `local-stack-admin-${edge}.png`);

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

let stack: LocalStack;
let ca: string;
const logLines: string[] = [];

/** One request over TLS, trusting only the given CA (none: the system's store), never following redirects. */
function call(
  url: string,
  init: {
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    ca?: string | null;
    /** Send the body only once the server has said 100 Continue (a refusal comes first). */
    expectContinue?: boolean;
  } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const trust = init.ca === undefined ? { ca } : init.ca === null ? {} : { ca: init.ca };
    const headers = { ...init.headers, ...(init.expectContinue ? { expect: "100-continue" } : {}) };
    const request = https.request(
      url,
      {
        method: init.method ?? "GET",
        headers,
        ...trust,
        agent: false,
        // Every *.localhost name is loopback (browsers resolve them so; the system resolver may not).
        lookup: (hostname, options, callback) =>
          lookup(hostname.endsWith(".localhost") ? "127.0.0.1" : hostname, options, callback),
      },
      (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (body += chunk));
        response.on("end", () => resolve({ status: response.statusCode!, headers: response.headers, body }));
      },
    );
    request.on("error", reject);
    if (init.expectContinue) request.on("continue", () => request.end(init.body));
    else request.end(init.body);
  });
}

/** A plain-HTTP request (the redirect listener). */
async function plainGet(url: string): Promise<Response> {
  return fetch(url, { redirect: "manual" });
}

/**
 * oauth2-proxy's identity headers as a client might forge them, naming the admin: every one the
 * proxy sets, and a spelling with underscores (which some servers fold into dashes).
 */
function forgedAdmin(): Record<string, string> {
  return {
    "x-auth-request-email": `ada@${ALLOWED_EMAIL_DOMAIN}`,
    "x-auth-request-user": "ada",
    "x-auth-request-groups": ADMIN_GROUP,
    "X-AUTH-REQUEST-PREFERRED-USERNAME": "ada",
    x_auth_request_email: `ada@${ALLOWED_EMAIL_DOMAIN}`,
  };
}

function predictBody(): string {
  return JSON.stringify({ inputs: Array.from({ length: 784 }, (_, i) => (i * 7) % 256) });
}

async function promQuery(expr: string): Promise<number> {
  const response = await fetch(`${stack.urls.prometheus}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const data = (await response.json()) as { data: { result: { value: [number, string] }[] } };
  const first = data.data.result[0];
  return first === undefined ? 0 : Number(first.value[1]);
}

describe.each(EDGES)("the local stack behind %s", (edge) => {
  /** Where a protected path without a session is sent: to sign in, and back to it afterwards. */
  const signInFor = (answer: Parameters<typeof expectSignInRedirect>[1], path: string) =>
    expectSignInRedirect(edge, answer, { origin: stack.origin, issuer: stack.urls.oidcIssuer, path });

  beforeAll(async () => {
    logLines.length = 0;
    stack = await startLocalStack({
      log: recentLog(logLines),
      scrapeIntervalSeconds: 1,
      edge,
    });
    ca = await readFile(stack.caFile, "utf8");
  }, 240_000);

  afterAll(async () => {
    await stack?.stop();
  });

  describe("TLS and redirects", () => {
    it("serves HTTPS with the run's CA, and a client without that CA refuses the certificate", async () => {
      expect(stack.edge).toBe(edge);
      const trusted = await call(`${stack.origin}/health`);
      expect(trusted.status).toBe(200);
      expect(trusted.headers["strict-transport-security"]).toBe("max-age=31536000; includeSubDomains");
      expect(trusted.headers.server).toBe(SERVER_HEADER[edge]);
      // The service's readiness, as a client (and the stack's start) asks it: through the edge.
      const ready = await call(`${stack.origin}/ready`);
      expect(ready.status).toBe(200);
      expect(JSON.parse(ready.body)).toMatchObject({ status: "ready" });

      const untrusted = call(`${stack.origin}/health`, { ca: null });
      await expect(untrusted).rejects.toMatchObject({ code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" });

      const cert = new X509Certificate(await readFile(stack.caFile));
      expect(cert.ca).toBe(true);
      expect(cert.subject).toBe("CN=plinth local stack CA");
    });

    it("redirects plain HTTP to the same path on HTTPS, permanently", async () => {
      const response = await plainGet(`http://127.0.0.1:${stack.ports.http}/predict?x=1`);
      // ingress-nginx's force-ssl-redirect answers 308; Traefik's permanent redirect 301 to a GET
      // (as a Gateway's RequestRedirect with statusCode 301) and 308 to anything else.
      expect(response.status).toBe(edge === "nginx" ? 308 : 301);
      expect(response.headers.get("location")).toBe(`${stack.origin}/predict?x=1`);
      const post = await fetch(`http://127.0.0.1:${stack.ports.http}/reload-model`, {
        method: "POST",
        redirect: "manual",
      });
      expect(post.status).toBe(308);
      expect(post.headers.get("location")).toBe(`${stack.origin}/reload-model`);
    });
  });

  describe("routing: the Ingress paths, nothing else", () => {
    it("publishes every public path and answers the edge's 404 for paths no route lists", async () => {
      expect(PUBLIC_PATHS.map((p) => p.path)).toContain("/health");
      expect((await call(`${stack.origin}/openapi.json`)).status).toBe(200);
      // /metadata is public: it reaches the service, which asks for credentials like every API route.
      const metadata = await call(`${stack.origin}/metadata`);
      expect(metadata.status).toBe(401);
      expect(JSON.parse(metadata.body)).toMatchObject({ error: { code: "UNAUTHENTICATED" } });
      for (const path of ["/metrics", "/", "/administrator", "/healthz", "/predict-image/other"]) {
        expectUnrouted(edge, await call(`${stack.origin}${path}`), path);
      }
    });

    it("sends a request without a session for any protected path to oauth2-proxy's sign-in (302)", async () => {
      for (const { path } of PROTECTED_PATHS) {
        const answer = await call(`${stack.origin}${path}`);
        signInFor(answer, path);
        expect(answer.headers["strict-transport-security"], path).toBe("max-age=31536000; includeSubDomains");
      }
      const start = await call(`${stack.origin}/oauth2/start?rd=/admin`);
      expect(start.status).toBe(302);
      const authorize = new URL(String(start.headers.location));
      expect(authorize.origin).toBe(stack.urls.oidcIssuer);
      expect(authorize.searchParams.get("client_id")).toBe("plinth-local");
      expect(authorize.searchParams.get("redirect_uri")).toBe(`${stack.origin}/oauth2/callback`);
      expect(authorize.searchParams.get("code_challenge_method")).toBe("S256");
    });

    it("never lets a forged X-Auth-Request-Email reach an admin route", async () => {
      const forged = forgedAdmin();
      for (const path of ["/admin", "/admin/panel.js", "/ops/summary"]) {
        const answer = await call(`${stack.origin}${path}`, { headers: forged });
        signInFor(answer, path);
        expect(answer.body).not.toContain("plinth · admin");
      }
      const reload = await call(`${stack.origin}/reload-model`, {
        method: "POST",
        headers: { ...forged, "x-plinth-csrf": "1" },
      });
      signInFor(reload, "/reload-model");
      // The service never saw it: no audit line, not even a refusal.
      expect(await readFile(stack.auditLogFile, "utf8").catch(() => "")).toBe("");
      // On the public paths the header authenticates nothing either.
      const predict = await call(`${stack.origin}/predict`, {
        method: "POST",
        headers: { ...forged, "content-type": "application/json" },
        body: predictBody(),
      });
      expect(predict.status).toBe(401);
      expect(JSON.parse(predict.body)).toMatchObject({ error: { code: "UNAUTHENTICATED" } });
    });
  });

  describe("limits", () => {
    it("refuses a body over 5 MiB at the edge (413), and passes a smaller one on to the service", async () => {
      const post = (bytes: number) =>
        call(`${stack.origin}/predict`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-api-key": stack.apiKey },
          body: Buffer.alloc(bytes, 0x20),
          expectContinue: true,
        });
      const over = await post(5 * 1024 * 1024 + 1);
      expect(over.status).toBe(413);
      // The edge's own page, not the service's JSON envelope.
      expect(over.body).not.toContain("PAYLOAD_TOO_LARGE");
      // 2 MiB of spaces: through the edge to the service, which finds no JSON in it.
      const under = await post(2 * 1024 * 1024);
      expect(under.status).toBe(400);
      expect(JSON.parse(under.body)).toMatchObject({ error: { code: "INVALID_JSON" } });
    });
  });

  // The Gateway path's per-client limits (components/gateway/traefik.ts); the Ingress path has none.
  describe.runIf(edge === "traefik")("rate limits per client address", () => {
    /** `count` requests at once from this one client (127.0.0.1), each on its own connection. */
    const volley = async (path: string, count: number) => {
      const answers = await Promise.all(Array.from({ length: count }, () => call(`${stack.origin}${path}`)));
      const limited = answers.filter((a) => a.status === 429);
      return { answers, limited, passed: answers.filter((a) => a.status !== 429) };
    };
    /** Until the client's bucket has refilled (so the tests after this one are not refused). */
    const refilled = (path: string) =>
      until(
        `${path} answered again`,
        async () => (await call(`${stack.origin}${path}`)).status,
        (s) => s !== 429,
      );

    it("refuses a client over the sign-in flow's burst on /oauth2/start with Traefik's 429, and lets the burst through", async () => {
      const { burst } = SIGN_IN_RATE_LIMIT;
      const { limited, passed } = await volley("/oauth2/start?rd=/admin", 3 * burst);
      // The burst reached oauth2-proxy (its 302 to the provider), and what was over it did not.
      expect(passed.length).toBeGreaterThanOrEqual(burst);
      expect(passed.every((a) => a.status === 302)).toBe(true);
      expect(limited.length).toBeGreaterThanOrEqual(burst / 2);
      // Traefik's own refusal: it says when to come back, and oauth2-proxy set no CSRF cookie.
      for (const answer of limited) {
        expect(Number(answer.headers["retry-after"])).toBeGreaterThanOrEqual(1);
        expect(answer.body).toBe("Too Many Requests");
        expect(answer.headers["set-cookie"]).toBeUndefined();
      }
      await refilled("/oauth2/start?rd=/admin");
    });

    it("refuses a client over a protected route's burst before oauth2-proxy is asked", async () => {
      const { burst } = PROTECTED_ROUTE_RATE_LIMIT;
      const { limited, passed } = await volley("/ops/summary", 2 * burst);
      expect(passed.length).toBeGreaterThanOrEqual(burst);
      for (const answer of passed) signInFor(answer, "/ops/summary");
      expect(limited.length).toBeGreaterThanOrEqual(burst / 4);
      // A 429, not the sign-in redirect: the chain's first link answered.
      for (const answer of limited) expect(answer.headers.location).toBeUndefined();
      await refilled("/ops/summary");
    });

    it("never limits the public API at the edge: the same volleys to /health all pass", async () => {
      // More at once than either limit's burst lets through, as the volleys above sent.
      const count = 2 * Math.max(PROTECTED_ROUTE_RATE_LIMIT.burst, SIGN_IN_RATE_LIMIT.burst);
      const { answers, limited } = await volley("/health", count);
      expect(limited).toEqual([]);
      expect(answers.map((a) => a.status)).toEqual(Array.from({ length: count }, () => 200));
    });
  });

  describe("predictions through the edge reach Prometheus", () => {
    it("answers with a prediction_id, logs it, and Prometheus counts the predictions", async () => {
      const before = await promQuery('sum(plinth_predictions_total{job="plinth-inference"})');
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const answer = await call(`${stack.origin}/predict`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-api-key": stack.apiKey },
          body: predictBody(),
        });
        expect(answer.status).toBe(200);
        const body = JSON.parse(answer.body) as { prediction_id: string; predictions: { label: string }[] };
        expect(body.prediction_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        expect(answer.headers["x-prediction-id"]).toBe(body.prediction_id);
        expect(body.predictions).toHaveLength(1);
        ids.push(body.prediction_id);
      }
      const logged = await until(
        "prediction log",
        async () => (await readFile(stack.predictionLogFile, "utf8").catch(() => "")).trim().split("\n"),
        (lines) => ids.every((id) => lines.some((line) => line.includes(id))),
      );
      expect(logged.filter((line) => ids.some((id) => line.includes(id)))).toHaveLength(3);
      const after = await until(
        "plinth_predictions_total in Prometheus",
        () => promQuery('sum(plinth_predictions_total{job="plinth-inference"})'),
        (value) => value >= before + 3,
      );
      expect(after - before).toBe(3);
    });

    it("loads the production stack's alert rules", async () => {
      const response = await fetch(`${stack.urls.prometheus}/api/v1/rules`);
      const data = (await response.json()) as {
        data: {
          groups: { name: string; rules: { name: string; annotations?: { runbook_url?: string } }[] }[];
        };
      };
      const expected = await productionRuleGroups(REPO_ROOT);
      // Prometheus lists groups by file order of its own choosing: compare as sorted sets.
      const names = (groups: { name: string; rules: { name: string }[] }[]) =>
        groups.flatMap((g) => g.rules.map((r) => `${g.name}/${r.name}`)).sort();
      expect(names(data.data.groups)).toEqual(
        names(
          expected.map((g) => ({
            name: g.name,
            rules: g.rules.map((r) => ({ name: "alert" in r ? r.alert : r.record })),
          })),
        ),
      );
      const runbooks = data.data.groups.flatMap((g) =>
        g.rules.flatMap((r) => r.annotations?.runbook_url ?? []),
      );
      expect(runbooks.length).toBeGreaterThan(0);
      expect(runbooks.every((url) => url.startsWith(RUNBOOK_BASE_URL))).toBe(true);
    });
  });

  describe("signing in through oauth2-proxy in Chromium", () => {
    let browser: Browser;
    beforeAll(async () => {
      // Trust exactly this run's server key (Chromium has no flag for an extra CA); node's https
      // checks the chain against the CA above.
      const serverCert = new X509Certificate(await readFile(stack.caFile.replace(/ca\.pem$/, "server.pem")));
      const spki = serverCert.publicKey.export({ type: "spki", format: "der" });
      const pin = createHash("sha256").update(spki).digest("base64");
      browser = await chromium.launch({
        executablePath: CHROMIUM_PATH,
        args: [...CHROMIUM_ARGS, `--ignore-certificate-errors-spki-list=${pin}`],
      });
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
    });

    async function signIn(page: Page, email: string, password: string, start = `${stack.origin}/admin`) {
      const first = await page.goto(start);
      // Redirected by the edge to oauth2-proxy, then to the provider's login page.
      expect(new URL(page.url()).origin).toBe(stack.urls.oidcIssuer);
      expect(first?.status()).toBe(200);
      await page.fill('input[name="email"]', email);
      await page.fill('input[name="password"]', password);
      const [callback] = await Promise.all([
        page.waitForResponse((r) => r.url().startsWith(`${new URL(start).origin}/oauth2/callback`)),
        page.click('button[type="submit"]'),
      ]);
      return callback;
    }

    it("refuses a wrong password on the provider's login page", async () => {
      const page = await browser.newPage();
      await page.goto(`${stack.origin}/admin`);
      await page.fill('input[name="email"]', stack.users.allowed.email);
      await page.fill('input[name="password"]', "not-the-password");
      const [answer] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === "POST"),
        page.click('button[type="submit"]'),
      ]);
      expect(answer.status()).toBe(401);
      expect(await page.textContent('[role="alert"]')).toBe("Unknown email or wrong password.");
      await page.close();
    });

    it("lets a user of the allowed domain in: /admin shows the served model", async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      const callback = await signIn(page, stack.users.allowed.email, stack.users.allowed.password);
      expect(callback.status()).toBe(302);
      await page.waitForURL(`${stack.origin}/admin`);
      await page.locator("#main").waitFor({ state: "visible" });
      expect(await page.title()).toBe("plinth · admin");
      expect(await page.textContent("#stable-version")).toBe("v1");
      expect(await page.textContent("#strategy")).toBe("single");
      await mkdir(path.dirname(screenshot(edge)), { recursive: true });
      await page.screenshot({ path: screenshot(edge), fullPage: true });
      // Signed in by the proxy's header: the panel never asked for a key.
      expect(await page.locator("#signin").isVisible()).toBe(false);
      const cookies = await context.cookies(stack.origin);
      const session = cookies.find((c) => c.name === SESSION_COOKIE);
      // Host-only (no Domain attribute: another host never receives it), and the __Host- prefix makes
      // the browser hold it to that.
      expect(session).toMatchObject({
        secure: true,
        httpOnly: true,
        sameSite: "Lax",
        path: "/",
        domain: "127.0.0.1",
      });
      expect(cookies.filter((c) => c.name.startsWith("__Host-oauth2_proxy")).map((c) => c.name)).toEqual([
        SESSION_COOKIE,
      ]);
      // The session also opens the JSON API behind /ops, and a forged header cannot change who it
      // is: the edge replaces it with the proxy's answer (a refused domain would get 403 here).
      const summary = await page.evaluate(async (forged) => {
        const response = await fetch("/ops/summary", { headers: { "x-auth-request-email": forged } });
        return {
          status: response.status,
          body: (await response.json()) as { rollout: { strategy: string } },
        };
      }, `mallory@${OTHER_EMAIL_DOMAIN}`);
      expect(summary.status).toBe(200);
      expect(summary.body.rollout.strategy).toBe("single");
      // The admin group passes the gate the cluster's MLflow Ingress asks for.
      const gate = await page.evaluate(
        async (group) => (await fetch(`/oauth2/auth?allowed_groups=${group}`)).status,
        ADMIN_GROUP,
      );
      expect(gate).toBe(202);
      await context.close();
    });

    it("reloads from the panel through oauth2-proxy, and refuses the same POST from a sibling page (CSRF)", async () => {
      const context = await browser.newContext();
      // Another origin of the same site (another port of the same host, over https): the session's
      // SameSite=Lax cookie goes along with its POST, as it would from a sibling host.
      const tls = path.dirname(stack.caFile);
      const sibling = createHttpsServer(
        {
          cert: await readFile(path.join(tls, "server.pem")),
          key: await readFile(path.join(tls, "server.key")),
        },
        (_request, response) => {
          response.setHeader("content-type", "text/html");
          response.end("<!doctype html><title>sibling</title>");
        },
      );
      await new Promise<void>((resolve) => sibling.listen(0, "127.0.0.1", resolve));
      try {
        const page = await context.newPage();
        await signIn(page, stack.users.allowed.email, stack.users.allowed.password);
        await page.waitForURL(`${stack.origin}/admin`);
        await page.locator("#main").waitFor({ state: "visible" });
        await page.selectOption("#reload-variant", "stable");
        await page.click("#reload");
        await page.locator("#notice.ok").waitFor();
        expect(await page.textContent("#notice")).toBe("Reload done: stable: unchanged (v1)");

        const attack = await context.newPage();
        await attack.goto(`https://127.0.0.1:${(sibling.address() as AddressInfo).port}/`);
        await attack.evaluate(async (target) => {
          await fetch(`${target}/reload-model`, { method: "POST", mode: "no-cors", credentials: "include" });
        }, stack.origin);
        const records = (await readFile(stack.auditLogFile, "utf8"))
          .trim()
          .split("\n")
          .map((line) => JSON.parse(line) as { who: string; result: string; detail?: { reason?: string } });
        const who = `email:${stack.users.allowed.email}`;
        expect(records.map((r) => [r.who, r.result])).toEqual([
          [who, "ok"],
          [who, "denied"],
        ]);
        expect(records[1]!.detail?.reason).toBe(
          "cross-site request refused: an admin action from a browser must come from this service's own pages " +
            "(the browser marked it Sec-Fetch-Site: same-site)",
        );
      } finally {
        await context.close();
        sibling.close();
      }
    });

    it("gives a read-only group the summary and nothing else; a user of the domain in no group is refused by the proxy", async () => {
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        const callback = await signIn(page, stack.users.reader.email, stack.users.reader.password);
        expect(callback.status()).toBe(302);
        // Signed in, through the proxy, with the groups the provider put in the ID token.
        // The same calls with the admin's identity headers forged: the service still sees the reader.
        const answers = await page.evaluate(
          async ({ adminGroup, forged }) => {
            const message = async (response: Response) => [
              response.status,
              ((await response.json()) as { error: { message: string } }).error.message,
            ];
            const panel = await fetch("/admin");
            const summary = await fetch("/ops/summary");
            const reload = await fetch("/reload-model", {
              method: "POST",
              headers: { "x-plinth-csrf": "1" },
            });
            const forgedPanel = await fetch("/admin", { headers: forged });
            const forgedReload = await fetch("/reload-model", {
              method: "POST",
              headers: { ...forged, "x-plinth-csrf": "1" },
            });
            // What the cluster's MLflow Ingress asks oauth2-proxy (admin groups only), and the others.
            const adminOnlyGate = (await fetch(`/oauth2/auth?allowed_groups=${adminGroup}`)).status;
            const gate = (await fetch("/oauth2/auth")).status;
            return {
              adminOnlyGate,
              gate,
              panel: [panel.status, ((await panel.json()) as { error: { message: string } }).error.message],
              summary: summary.status,
              reload: [
                reload.status,
                ((await reload.json()) as { error: { message: string } }).error.message,
              ],
              forgedPanel: await message(forgedPanel),
              forgedReload: await message(forgedReload),
            };
          },
          { adminGroup: ADMIN_GROUP, forged: forgedAdmin() },
        );
        const who = `email:${stack.users.reader.email}`;
        expect(answers).toEqual({
          adminOnlyGate: 403,
          gate: 202,
          panel: [403, `${who} does not hold the admin role`],
          summary: 200,
          reload: [403, `${who} does not hold the admin role`],
          forgedPanel: [403, `${who} does not hold the admin role`],
          forgedReload: [403, `${who} does not hold the admin role`],
        });
      } finally {
        await context.close();
      }
      // In the allowed domain, in no group that grants a role: oauth2-proxy's own 403, no session.
      const refused = await browser.newContext();
      try {
        const page = await refused.newPage();
        const callback = await signIn(page, stack.users.ungrouped.email, stack.users.ungrouped.password);
        expect(callback.status()).toBe(403);
        expect(await page.title()).toBe("403 Forbidden");
        expect((await refused.cookies(stack.origin)).map((c) => c.name)).not.toContain(SESSION_COOKIE);
      } finally {
        await refused.close();
      }
    });

    it("ignores the proxy's headers from a process that reaches the service's port directly", async () => {
      // What the edge would forward for the admin, sent by another process on this machine.
      const direct = `http://127.0.0.1:${stack.ports.service}`;
      const forged = {
        "x-auth-request-email": stack.users.allowed.email,
        "x-auth-request-groups": ADMIN_GROUP,
        "x-plinth-csrf": "1",
      };
      const reload = await fetch(`${direct}/reload-model`, { method: "POST", headers: forged });
      expect(reload.status).toBe(401);
      const summary = await fetch(`${direct}/ops/summary`, { headers: forged });
      expect(summary.status).toBe(401);
      expect(((await summary.json()) as { error: { code: string } }).error.code).toBe("UNAUTHENTICATED");
    });

    it.runIf(edge === "traefik")(
      "keeps MLflow's host behind oauth2-proxy for the admin groups: the admin signs in on that host, a reader is refused",
      async () => {
        const mlflow = stack.urls.mlflowThroughEdge!;
        expect(mlflow).toBe(`https://mlflow.localhost:${stack.ports.https}`);
        // No session, or a forged identity: sent to sign in on MLflow's own host, and back.
        for (const headers of [{}, forgedAdmin()]) {
          const answer = await call(`${mlflow}/#/experiments`, { headers });
          expectSignInRedirect(edge, answer, { origin: mlflow, issuer: stack.urls.oidcIssuer, path: "/" });
        }
        const api = `${mlflow}/ajax-api/2.0/mlflow/experiments/search?max_results=1`;
        const forgedApi = await call(api, { headers: forgedAdmin() });
        expect(forgedApi.status).toBe(302);
        expect(forgedApi.body).not.toMatch(/"experiments"\s*:/);

        const admin = await browser.newContext();
        try {
          const page = await admin.newPage();
          const callback = await signIn(
            page,
            stack.users.allowed.email,
            stack.users.allowed.password,
            `${mlflow}/`,
          );
          expect(callback.status()).toBe(302);
          await page.waitForURL(`${mlflow}/`);
          expect(await page.title()).toBe("MLflow");
          const search = await page.evaluate(async (url) => {
            const response = await fetch(url);
            return { status: response.status, body: (await response.json()) as { experiments?: unknown[] } };
          }, api);
          expect(search.status).toBe(200);
          expect(search.body.experiments).toHaveLength(1);
          // The session is MLflow's host's alone: the API host still asks to sign in.
          expect((await admin.cookies(stack.origin)).map((c) => c.name)).not.toContain(SESSION_COOKIE);
          expect((await admin.cookies(mlflow)).map((c) => c.name)).toContain(SESSION_COOKIE);
        } finally {
          await admin.close();
        }

        const reader = await browser.newContext();
        try {
          const page = await reader.newPage();
          const landing = page.waitForResponse((r) => r.url() === `${mlflow}/` && r.status() !== 302);
          const callback = await signIn(
            page,
            stack.users.reader.email,
            stack.users.reader.password,
            `${mlflow}/`,
          );
          // Signed in (the ops-read group may), but MLflow's gate asks for the admin groups.
          expect(callback.status()).toBe(302);
          expect((await landing).status()).toBe(403);
          expect(await page.title()).not.toBe("MLflow");
        } finally {
          await reader.close();
        }
      },
    );

    it("refuses a user of another domain with oauth2-proxy's 403 page", async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      const callback = await signIn(page, stack.users.other.email, stack.users.other.password);
      expect(callback.status()).toBe(403);
      expect(page.url()).toMatch(new RegExp(`^${stack.origin}/oauth2/callback\\?`));
      expect(await page.title()).toBe("403 Forbidden");
      expect(await page.textContent("body")).toContain("You do not have permission to access this resource.");
      expect(
        logLines.some(
          (line) =>
            line.startsWith("[oauth2-proxy]") &&
            line.includes(stack.users.other.email) &&
            line.includes("Invalid authentication via OAuth2: unauthorized"),
        ),
      ).toBe(true);
      expect((await context.cookies(stack.origin)).map((c) => c.name)).not.toContain(SESSION_COOKIE);
      // Still no way into /admin: the provider's session signs the user in again, and is refused again.
      const again = await page.goto(`${stack.origin}/admin`);
      expect(again?.status()).toBe(403);
      expect(page.url()).toMatch(new RegExp(`^${stack.origin}/oauth2/callback\\?`));
      await context.close();
    });
  });
});
