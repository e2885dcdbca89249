/* global document, window, sessionStorage, fetch, URLSearchParams */
/**
 * The admin panel: polls GET ops/summary and draws it; the reload button calls POST reload-model.
 *
 * Authentication: behind oauth2-proxy (OPS_OIDC_TRUST_HEADERS=true) the proxy adds the signed-in
 * user's email to every request and nothing is asked. Otherwise the server answers 401 and the
 * page asks for an API key holding the admin role; the key is kept in sessionStorage (this tab
 * only, gone when it closes) and sent as `x-api-key`. The server authorises every request; the page
 * only shows what it is given. All data is written with textContent, never parsed as HTML.
 *
 * Every URL is relative to where the page was loaded: at `/admin` it reads `/ops/summary`, at
 * `/models/<name>/admin` that model's process's `/models/<name>/ops/summary`, and so for the reload.
 */
import { ring, timeChart } from "./charts.js";

const KEY_STORAGE = "plinth.admin.apiKey";
/** The operator routes beside the page (relative: resolved against the page's own URL). */
const SUMMARY_URL = "ops/summary";
const RELOAD_URL = "reload-model";
/**
 * `?poll=` may change the interval (tests speed it up), only within these bounds: a link must not
 * turn the panel into a load tool (Infinity or 2^32 would make setInterval fire at once, forever).
 */
const MIN_POLL_MS = 1000;
const MAX_POLL_MS = 600_000;
const REQUESTED_POLL_MS = Number(new URLSearchParams(window.location.search).get("poll"));
const POLL_MS =
  Number.isFinite(REQUESTED_POLL_MS) && REQUESTED_POLL_MS > 0
    ? Math.min(MAX_POLL_MS, Math.max(MIN_POLL_MS, REQUESTED_POLL_MS))
    : 5000;
const COLORS = { stable: "#4f9dff", candidate: "#b07cff", p95: "#38d6b4", warn: "#f5b942", alert: "#ff5d6c" };

const $ = (id) => document.getElementById(id);
let timer;
let inFlight = false;

function apiKey() {
  return sessionStorage.getItem(KEY_STORAGE);
}

async function call(method, url, body) {
  // The server refuses a signed-in user's admin action without it (service/auth/csrf.ts).
  const headers = { accept: "application/json", "x-plinth-csrf": "1" };
  const key = apiKey();
  if (key) headers["x-api-key"] = key;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(url, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json().catch(() => ({}));
  return { status: response.status, json };
}

let noticeTimer;
/** Shows a message; "ok" messages fade after a while, errors stay until the next good poll. */
function notice(text, kind = "info") {
  const box = $("notice");
  window.clearTimeout(noticeTimer);
  box.textContent = text;
  box.className = `notice ${kind}`;
  box.hidden = text === "";
  if (kind === "ok") noticeTimer = window.setTimeout(() => notice(""), 8000);
}

function text(id, value) {
  $(id).textContent = value;
}

const pct = (v, digits = 2) => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(digits)}%`);
const ms = (v) =>
  v === null || v === undefined ? "–" : v < 10 ? `${v.toFixed(2)} ms` : `${v.toFixed(1)} ms`;
const when = (iso) => (iso ? new Date(iso).toLocaleTimeString() : "–");
const TREND = { rising: "↗ rising", falling: "↘ falling", steady: "→ steady" };

function aliasesOf(aliases, version) {
  return Object.entries(aliases)
    .filter(([, v]) => v === version)
    .map(([a]) => a);
}

/** What a variant without a loaded version shows (its `state`, as plinth_model_state's). */
const STATE_TEXT = {
  loading: "loading…",
  awaiting_version: "awaiting first version",
  registry_unreachable: "registry unreachable",
  load_failed: "load failed",
  draining: "shutting down",
};

function renderVariant(prefix, variant, aliases) {
  const card = $(`${prefix}-version`).closest(".card");
  if (!variant) {
    text(`${prefix}-version`, "none");
    text(`${prefix}-ref`, "no candidate configured");
    card.classList.add("idle");
    return;
  }
  card.classList.remove("idle");
  const loaded = variant.version !== null;
  text(`${prefix}-version`, loaded ? `v${variant.version}` : (STATE_TEXT[variant.state] ?? variant.state));
  // Not loading and nothing loaded (awaiting its first version, a failed load): say so in colour.
  if (loaded || variant.state === "loading") delete card.dataset.level;
  else card.dataset.level = "warn";
  const names = loaded ? aliasesOf(aliases, variant.version) : [];
  const alias = names.length > 0 ? ` · alias ${names.join(", ")}` : "";
  // The reason names the registry and what to do (register a version, set the alias).
  const why = variant.reason ? ` · ${variant.reason}` : "";
  text(`${prefix}-ref`, `ref ${variant.ref}${alias}${variant.ready ? "" : " · not ready"}${why}`);
}

function dl(id, rows) {
  const list = $(id);
  list.replaceChildren();
  for (const [name, value, cls] of rows) {
    const dt = document.createElement("dt");
    dt.textContent = name;
    const dd = document.createElement("dd");
    dd.textContent = value;
    if (cls) dd.className = cls;
    list.append(dt, dd);
  }
}

function renderCharts(s) {
  const series = s.traffic.series;
  const t = (p) => Date.parse(p.time);
  timeChart(
    $("chart-latency"),
    [{ name: "p95", color: COLORS.p95, points: series.map((p) => ({ t: t(p), v: p.p95Ms })) }],
    { area: true, emptyText: "waiting for traffic" },
  );
  const variants = ["stable", "candidate"].filter((v) => v === "stable" || s.rollout.variants.candidate);
  timeChart(
    $("chart-traffic"),
    variants.map((v) => ({
      name: v,
      color: COLORS[v],
      points: series.map((p) => ({ t: t(p), v: p.requestsPerSecond[v] ?? 0 })),
    })),
    { stacked: true, emptyText: "waiting for traffic" },
  );
  const w = s.rollout.weights;
  text(
    "split-hint",
    s.rollout.strategy === "canary"
      ? `requests/s · weights ${w.stable}% / ${w.candidate}%`
      : s.rollout.strategy === "shadow"
        ? `requests/s · shadow ${s.rollout.shadowPercent}%`
        : "requests/s · stable only",
  );
  const history = s.drift.history;
  timeChart(
    $("chart-drift"),
    variants.map((v) => ({
      name: v,
      color: COLORS[v],
      points: history.filter((e) => e.variant === v).map((e) => ({ t: Date.parse(e.time), v: e.score })),
    })),
    {
      thresholds: [
        { value: s.drift.thresholds.warn, label: `warn ${s.drift.thresholds.warn}`, color: COLORS.warn },
        { value: s.drift.thresholds.alert, label: `alert ${s.drift.thresholds.alert}`, color: COLORS.alert },
      ],
      emptyText: `collecting samples (${s.drift.samples} so far)`,
    },
  );
  const sh = s.rollout.shadow;
  ring($("chart-agreement"), sh.agreement, {
    label: "agreement",
    color: sh.agreement === null || sh.agreement >= 0.9 ? COLORS.p95 : COLORS.warn,
    emptyText:
      s.rollout.strategy !== "shadow"
        ? "shadow is off"
        : sh.agreementUnsupported
          ? "agreement not defined for this model (no labels)"
          : "no comparisons yet",
    facts: [
      ["compared", String(sh.compared)],
      ["agreed", String(sh.agreed)],
      ["dropped", String(sh.dropped)],
      [
        "p95 stable / candidate",
        `${ms(sh.latencyP95MsByVariant.stable)} / ${ms(sh.latencyP95MsByVariant.candidate)}`,
      ],
    ],
  });
}

function render(s) {
  const r = s.rollout;
  text("model", r.model);
  $("reload-variant").querySelector('option[value="candidate"]').disabled = !r.variants.candidate;
  text("strategy", r.strategy);
  $("strategy").className = `badge ${r.strategy}`;
  $("color").hidden = r.color === "none";
  text("color", r.color);
  renderVariant("stable", r.variants.stable, r.aliases);
  renderVariant("candidate", r.variants.candidate, r.aliases);

  const tr = s.traffic;
  text("requests", tr.requests.toLocaleString());
  const last = tr.series[tr.series.length - 1];
  const rps = last ? Object.values(last.requestsPerSecond).reduce((a, b) => a + b, 0) : 0;
  const split = Object.entries(tr.requestsByVariant)
    .map(([v, n]) => `${v} ${n}`)
    .join(" · ");
  text("rps", `${rps.toFixed(1)} req/s now${split ? ` · ${split}` : ""}`);
  text("error-rate", pct(tr.errorRate));
  text("errors", `${tr.errors} 5xx`);
  text("p95", ms(tr.p95Ms));
  text("inference-p95", `inference p95 ${ms(tr.inferenceP95Ms)}`);

  const d = s.drift;
  text("drift-score", d.score === null ? "–" : d.score.toFixed(3));
  text(
    "drift-trend",
    d.score === null
      ? `${d.samples} samples · baseline ${d.baseline}`
      : `${d.level} · ${TREND[d.trend]}${d.delta === null ? "" : ` (${d.delta >= 0 ? "+" : ""}${d.delta.toFixed(3)})`}`,
  );
  $("drift-card").dataset.level = d.level ?? "none";

  text("agreement", pct(r.shadow.agreement, 1));
  text("agreement-sub", `${r.shadow.compared} compared · ${r.shadow.dropped} dropped`);
  text("circuit", r.circuit.state);
  text(
    "circuit-sub",
    `${r.circuit.consecutiveFailures}/${r.circuit.threshold} failures · ${r.fallbacks.total} fallbacks`,
  );
  $("circuit-card").dataset.level =
    r.circuit.state === "open" ? "alert" : r.circuit.state === "half-open" ? "warn" : "ok";

  const lr = r.lastReload;
  dl(
    "reload-info",
    lr === null
      ? [["result", "no reload yet"]]
      : [
          ["result", lr.result, `result-${lr.result}`],
          ["variant", lr.variant],
          ["version", `${lr.previousVersion ?? "–"} → ${lr.version ?? "–"}`],
          ["trigger", `${lr.trigger}${lr.by ? ` by ${lr.by}` : ""}`],
          ["at", when(lr.at)],
          ...(lr.error ? [["error", lr.error, "result-failed"]] : []),
        ],
  );
  const tn = s.training;
  dl(
    "training-info",
    tn === null
      ? [["summary", "no training summary for this version"]]
      : [
          ["version", `v${tn.version}`],
          ["architecture", tn.architecture ?? "–"],
          ["accuracy", pct(tn.accuracy)],
          ["macro F1", tn.macroF1 === null ? "–" : tn.macroF1.toFixed(3)],
          [
            "quality gate",
            tn.gate === null
              ? "no report"
              : tn.gate.passed
                ? `passed${tn.gate.warned.length ? ` (warn: ${tn.gate.warned.join(", ")})` : ""}`
                : `failed: ${tn.gate.failed.join(", ")}`,
            tn.gate === null ? "" : tn.gate.passed ? "result-loaded" : "result-failed",
          ],
          ["trained", tn.finishedAt ? new Date(tn.finishedAt).toLocaleString() : "–"],
        ],
  );
  const rows = $("audit-rows");
  rows.replaceChildren();
  for (const a of [...s.audit].reverse()) {
    const tr2 = document.createElement("tr");
    const detail = a.detail
      ? Object.entries(a.detail)
          .map(([k, v]) => `${k}=${v}`)
          .join(" ")
      : "";
    for (const [value, cls] of [
      [when(a.time)],
      [a.who],
      [a.action],
      [a.result, `result-${a.result}`],
      [detail],
    ]) {
      const td = document.createElement("td");
      td.textContent = value;
      if (cls) td.className = cls;
      tr2.append(td);
    }
    rows.append(tr2);
  }
  if (s.audit.length === 0) {
    const td = document.createElement("td");
    td.colSpan = 5;
    td.className = "muted";
    td.textContent = "no admin actions yet";
    const tr3 = document.createElement("tr");
    tr3.append(td);
    rows.append(tr3);
  }
  renderCharts(s);
  text("updated", `updated ${new Date(s.generatedAt).toLocaleTimeString()}`);
}

function askForKey(message) {
  $("main").hidden = true;
  const error = $("signin-error");
  error.hidden = !message;
  error.textContent = message ?? "";
  const dialog = $("signin");
  if (!dialog.open) dialog.showModal();
}

async function refresh() {
  if (inFlight) return;
  inFlight = true;
  try {
    const { status, json } = await call("GET", SUMMARY_URL);
    $("signout").hidden = !apiKey();
    if (status === 200) {
      if ($("notice").classList.contains("error")) notice("");
      $("main").hidden = false;
      render(json);
    } else if (status === 401) {
      askForKey(apiKey() ? json.error?.message : undefined);
    } else if (status === 403) {
      $("main").hidden = true;
      notice(`Refused: ${json.error?.message ?? "forbidden"}`, "error");
    } else {
      notice(`The summary failed (${status}): ${json.error?.message ?? "no details"}`, "error");
    }
  } catch (err) {
    notice(`The service is unreachable: ${err.message}`, "error");
  } finally {
    inFlight = false;
  }
}

async function reload() {
  const variant = $("reload-variant").value;
  const button = $("reload");
  button.disabled = true;
  button.textContent = "Reloading…";
  try {
    const { status, json } = await call("POST", RELOAD_URL, { variant });
    if (status === 200) {
      const results = json.results.map((r) => `${r.variant}: ${r.result} (v${r.version})`).join(", ");
      notice(`Reload done: ${results}`, "ok");
    } else {
      notice(`Reload refused or failed (${status}): ${json.error?.message ?? ""}`, "error");
    }
  } finally {
    button.disabled = false;
    button.textContent = "Reload model";
    await refresh();
  }
}

function start() {
  $("reload").addEventListener("click", () => void reload());
  $("signout").addEventListener("click", () => {
    sessionStorage.removeItem(KEY_STORAGE);
    window.location.reload();
  });
  $("signin-form").addEventListener("submit", () => {
    sessionStorage.setItem(KEY_STORAGE, $("api-key").value.trim());
    $("api-key").value = "";
    void refresh();
  });
  void refresh();
  timer = window.setInterval(() => void refresh(), POLL_MS);
}

window.addEventListener("beforeunload", () => window.clearInterval(timer));
start();
