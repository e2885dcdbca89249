/**
 * Every version the platform pins, with when it was released and when its upstream stops
 * supporting it: the one table `test/infra/pins.test.ts` checks against the places that pin
 * (components/shared/helm.ts, the stack files' `aws.kubernetesVersion` and image tags). A pin past
 * its end of support fails the suite on the day it happens; the test prints every pin's age and
 * the days it has left.
 *
 * Dates are as published, each with its source. Where upstream publishes no date (a release
 * supported "until the release of N+2"), the entry says so and carries an estimate from the
 * project's cadence, marked `estimated`, so the test still forces a look when it passes.
 *
 *   npx tsx infra/pins/support.ts    prints every pin's age and days left, as the test does
 */
import { pathToFileURL } from "node:url";

/** Where a pin lives. */
export type PinKind = "kubernetes" | "chart" | "image";

export interface PinSupport {
  readonly kind: PinKind;
  /** EKS, the chart name, or the image repository. */
  readonly name: string;
  /** The pinned version, exactly as pinned (chart version, image tag, Kubernetes minor). */
  readonly version: string;
  /** Release date of the pinned version (YYYY-MM-DD). */
  readonly released: string;
  /** Where `released` comes from; "approximate" when only a range is known. */
  readonly releasedSource: string;
  /**
   * Last day upstream supports the pinned line (YYYY-MM-DD), or null when upstream publishes no
   * support window (only the newest release gets fixes): the pin then counts as unsupported once
   * older than {@link MAX_AGE_WITHOUT_WINDOW_DAYS}.
   */
  readonly endOfSupport: string | null;
  /** Upstream's policy and where `endOfSupport` comes from. */
  readonly supportSource: string;
  /** `endOfSupport` is projected from the release cadence, not published. */
  readonly estimated?: boolean;
  /**
   * A pin kept past its end of support on purpose: why, and the day the acceptance itself ends
   * (the test fails after it). Never longer than a quarter.
   */
  readonly accepted?: { readonly until: string; readonly reason: string };
}

export const PIN_SUPPORT: readonly PinSupport[] = [
  {
    kind: "kubernetes",
    name: "EKS",
    version: "1.35",
    released: "2026-01-27",
    releasedSource:
      "Amazon EKS Kubernetes release calendar (docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html); endoflife.date/amazon-eks lists 2026-01-28",
    endOfSupport: "2027-03-27",
    supportSource:
      "EKS: standard support for 14 months after the EKS release, then 12 months of paid extended support (same calendar); 1.34's standard support ended 2026-12-02, 1.33's 2026-07-29",
  },
  {
    kind: "chart",
    name: "cert-manager",
    version: "v1.21.1",
    released: "2026-08-14",
    releasedSource:
      "approximate: v1.21.0 in July 2026 (cert-manager/testing#1218 dropped 1.19 on 2026-07-10 after the 1.21 release; endoflife.date added 1.21 on 2026-07-14); v1.21.1 packaged downstream by 2026-08-16 (kadras-io/kadras-packages#590)",
    endOfSupport: "2027-03-10",
    supportSource:
      "cert-manager supports the two newest minors: 1.21 until the release of 1.23 (cert-manager.io/docs/releases). 1.19 ended with 1.21 (July 2026); 1.20 ends with 1.22. Estimated from the cadence (1.19 2025-10-07, 1.20 2026-03-10, 1.21 2026-07): about eight months after 1.21",
    estimated: true,
  },
  {
    kind: "chart",
    name: "ingress-nginx",
    version: "4.13.3",
    released: "2025-10-01",
    releasedSource:
      "approximate: between chart 4.13.1 (kubernetes/ingress-nginx#13770, 2025-08-12) and 4.13.4 (#14119, 2025-11-03)",
    endOfSupport: "2026-03-31",
    supportSource:
      "ingress-nginx is retired: best-effort maintenance until March 2026, then no releases or security fixes (kubernetes.io/blog/2025/11/11/ingress-nginx-retirement); the repository was archived in March 2026",
    accepted: {
      until: "2027-02-28",
      reason:
        "only the Ingress path installs it (plinth:edge: ingress-nginx), kept for clusters that already run ingress-nginx; the default edge is the Gateway API on Traefik (docs/edge.md)",
    },
  },
  {
    kind: "chart",
    name: "traefik",
    version: "39.0.7",
    released: "2026-03-30",
    releasedSource:
      "traefik/traefik-helm-chart#1779 (publish v39.0.7: Traefik Proxy v3.6.12 with CVE fixes), merged 2026-03-30",
    endOfSupport: null,
    supportSource:
      "Traefik Labs publishes no fixed end date per chart: the chart follows Traefik Proxy, whose current minor gets bug and security fixes (v3.6 patch releases continued through 2026)",
  },
  {
    kind: "chart",
    name: "kube-prometheus-stack",
    version: "77.12.0",
    released: "2025-10-01",
    releasedSource:
      "approximate: a 77.x release shortly before 78.0.0 (prometheus-community/helm-charts, October 2025)",
    endOfSupport: null,
    supportSource:
      "prometheus-community publishes no support window: only the newest chart release gets fixes (github.com/prometheus-community/helm-charts)",
  },
  {
    kind: "image",
    name: "quay.io/oauth2-proxy/oauth2-proxy",
    version: "v7.12.0",
    released: "2025-08-01",
    releasedSource: "approximate: summer 2025 (oauth2-proxy/manifests#340 moved the chart to v7.12.0)",
    endOfSupport: null,
    supportSource: "oauth2-proxy publishes no support window: fixes land in the newest release only",
  },
  {
    kind: "image",
    // plinth's own MLflow image (components/mlflow/image): its tag is the MLflow release it installs.
    name: "ghcr.io/plinth-ml/mlflow",
    version: "3.17.2",
    released: "2026-11-01",
    releasedSource:
      "approximate: the MLflow 3.17.x release on PyPI (autumn 2026; 3.14.0 was published 2026-06-17, and minors come roughly monthly)",
    endOfSupport: null,
    supportSource: "MLflow publishes no support window: fixes land in the newest release only",
  },
  {
    kind: "image",
    name: "docker.io/library/postgres",
    version: "17.6",
    released: "2025-08-14",
    releasedSource: "PostgreSQL 17.6 release announcement, 2025-08-14 (postgresql.org)",
    endOfSupport: "2029-11-08",
    supportSource:
      "PostgreSQL supports a major version for five years: 17 until 2029-11-08 (postgresql.org/support/versioning)",
  },
  {
    kind: "image",
    // The in-cluster rate-limit store of the `existing` cloud (components/rate-limit-store).
    name: "docker.io/library/redis",
    version: "8.2.3",
    released: "2025-11-03",
    releasedSource:
      "approximate: the Redis 8.2.3 patch release (github.com/redis/redis/releases), early November 2025, a month after 8.2.2 (2025-10-03)",
    endOfSupport: null,
    supportSource:
      "Redis Open Source publishes no per-version support window for the community edition: fixes land in patch releases of recent minors only",
  },
];

const DAY_MS = 86_400_000;

/**
 * How old a pin whose upstream publishes no support window may get (18 months): such projects fix
 * only their newest release, so an old pin silently misses fixes; past this, move it.
 */
export const MAX_AGE_WITHOUT_WINDOW_DAYS = 548;

function days(from: string, to: Date): number {
  return Math.floor((to.getTime() - Date.parse(`${from}T00:00:00Z`)) / DAY_MS);
}

/** One pin's standing on a day. */
export interface PinStatus {
  readonly pin: PinSupport;
  /** Days since release. */
  readonly ageDays: number;
  /**
   * Days until the end of support (negative once past it); for a pin without a published window,
   * until it reaches {@link MAX_AGE_WITHOUT_WINDOW_DAYS}.
   */
  readonly daysLeft: number;
  /** Past its end of support with no acceptance in force. */
  readonly unsupported: boolean;
  /** Past its end of support, and accepted until `pin.accepted.until`. */
  readonly acceptedPastEnd: boolean;
}

export function pinStatus(pin: PinSupport, today: Date): PinStatus {
  const ageDays = days(pin.released, today);
  const daysLeft =
    pin.endOfSupport === null
      ? MAX_AGE_WITHOUT_WINDOW_DAYS - ageDays
      : 0 - days(pin.endOfSupport, today) || 0;
  const past = daysLeft < 0;
  const acceptedPastEnd = past && pin.accepted !== undefined && days(pin.accepted.until, today) <= 0;
  return { pin, ageDays, daysLeft, unsupported: past && !acceptedPastEnd, acceptedPastEnd };
}

/** The table as text, one line per pin: what, age, days left, and why when it is past its end. */
export function pinReport(today: Date): string {
  const rows = PIN_SUPPORT.map((pin) => pinStatus(pin, today)).map((status) => {
    const { pin } = status;
    const left =
      pin.endOfSupport === null
        ? status.daysLeft >= 0
          ? `no published end of support; ${status.daysLeft} days left of the ${MAX_AGE_WITHOUT_WINDOW_DAYS}-day age limit`
          : `no published end of support, and PAST THE ${MAX_AGE_WITHOUT_WINDOW_DAYS}-DAY AGE LIMIT by ${-status.daysLeft} days`
        : status.daysLeft >= 0
          ? `${status.daysLeft} days left (to ${pin.endOfSupport}${pin.estimated ? ", estimated" : ""})`
          : `PAST END OF SUPPORT since ${pin.endOfSupport} (${-status.daysLeft} days)`;
    const accepted = status.acceptedPastEnd
      ? `; accepted until ${pin.accepted?.until}: ${pin.accepted?.reason}`
      : "";
    return `${pin.kind.padEnd(10)} ${`${pin.name} ${pin.version}`.padEnd(44)} ${String(status.ageDays).padStart(4)} days old, ${left}${accepted}`;
  });
  return [`pins on ${today.toISOString().slice(0, 10)}:`, ...rows].join("\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  process.stdout.write(`${pinReport(new Date())}\n`);
}
