/**
 * Stale pins (#18): every version the platform pins has an entry in infra/pins/support.ts, and no
 * pin is past its upstream end of support on the day the suite runs. The table with each pin's age
 * and days left is printed on every run.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CHARTS } from "../../components/shared/helm.js";
import {
  MAX_AGE_WITHOUT_WINDOW_DAYS,
  PIN_SUPPORT,
  pinReport,
  pinStatus,
  type PinKind,
  type PinSupport,
} from "../../infra/pins/support.js";

const STACKS = ["staging", "production"] as const;
/** plinth's own service image: its version is plinth's, not a third party's. */
const OWN_IMAGES = new Set(["ghcr.io/plinth-ml/plinth"]);
const DAY_MS = 86_400_000;

interface Pin {
  readonly kind: PinKind;
  readonly name: string;
  readonly version: string;
  readonly where: string;
}

/** Every `image:`-like value of a stack file's plinth config: registry/name:tag@sha256:... */
function imagesIn(value: unknown, path: string, found: Pin[]): void {
  if (typeof value === "string") {
    const match = /^([^@\s]+):([\w][\w.-]*)@sha256:[a-f0-9]{64}$/.exec(value);
    if (match && !OWN_IMAGES.has(match[1]!)) {
      found.push({ kind: "image", name: match[1]!, version: match[2]!, where: path });
    }
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => imagesIn(item, `${path}[${index}]`, found));
  } else if (value && typeof value === "object") {
    for (const [key, inner] of Object.entries(value)) imagesIn(inner, `${path}.${key}`, found);
  }
}

/** The pins as the program and the stack files hold them today. */
function pinsInUse(): Pin[] {
  const pins: Pin[] = Object.values(CHARTS).map((chart) => ({
    kind: "chart",
    name: chart.chart,
    version: chart.version,
    where: "components/shared/helm.ts",
  }));
  for (const stack of STACKS) {
    const file = `Pulumi.${stack}.yaml`;
    const config = (parse(readFileSync(file, "utf8")) as { config: Record<string, unknown> }).config;
    const aws = config["plinth:aws"] as { kubernetesVersion?: string } | undefined;
    if (aws?.kubernetesVersion) {
      pins.push({
        kind: "kubernetes",
        name: "EKS",
        version: aws.kubernetesVersion,
        where: `${file} plinth:aws.kubernetesVersion`,
      });
    }
    imagesIn(config, file, pins);
  }
  return pins;
}

const key = (pin: { kind: string; name: string; version: string }) =>
  `${pin.kind} ${pin.name} ${pin.version}`;

describe("version pins and their upstream support", () => {
  const today = new Date();

  it("prints every pin's age and the days it has left", () => {
    const report = pinReport(today);
    console.log(report);
    expect(report.split("\n")).toHaveLength(PIN_SUPPORT.length + 1);
  });

  it("has one entry for every pin in use, and no entry for a pin no longer used", () => {
    const inUse = pinsInUse();
    const table = new Set(PIN_SUPPORT.map(key));
    const missing = inUse.filter((pin) => !table.has(key(pin))).map((pin) => `${key(pin)} (${pin.where})`);
    expect(missing, "add these to infra/pins/support.ts with their release and end-of-support dates").toEqual(
      [],
    );
    const used = new Set(inUse.map(key));
    expect(PIN_SUPPORT.map(key).filter((entry) => !used.has(entry))).toEqual([]);
    expect(new Set(PIN_SUPPORT.map(key)).size).toBe(PIN_SUPPORT.length);
  });

  it("has no pin past its end of support today", () => {
    const past = PIN_SUPPORT.map((pin) => pinStatus(pin, today))
      .filter((status) => status.unsupported)
      .map(({ pin }) =>
        pin.endOfSupport === null
          ? `${key(pin)}: older than ${MAX_AGE_WITHOUT_WINDOW_DAYS} days with no published support window (${pin.supportSource}); move to a newer release`
          : `${key(pin)}: upstream support ended ${pin.endOfSupport} (${pin.supportSource}); move to a supported version`,
      );
    expect(past).toEqual([]);
  });

  it("states where each date comes from, and accepts a pin past its end for at most a quarter", () => {
    for (const pin of PIN_SUPPORT) {
      expect(pin.released, key(pin)).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(Date.parse(pin.released), key(pin)).toBeLessThanOrEqual(today.getTime());
      if (pin.endOfSupport !== null) expect(pin.endOfSupport, key(pin)).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(pin.releasedSource.length, key(pin)).toBeGreaterThan(10);
      expect(pin.supportSource.length, key(pin)).toBeGreaterThan(10);
      if (pin.accepted) {
        expect(pin.endOfSupport, `${key(pin)}: an acceptance needs an end of support`).not.toBeNull();
        expect(Date.parse(pin.accepted.until) - today.getTime(), key(pin)).toBeLessThanOrEqual(92 * DAY_MS);
      }
    }
  });

  it("pins EKS and cert-manager to versions upstream supports today (regressions of #18)", () => {
    const at = (kind: PinKind, name: string): PinSupport[] =>
      PIN_SUPPORT.filter((pin) => pin.kind === kind && pin.name === name);
    for (const pin of [...at("kubernetes", "EKS"), ...at("chart", "cert-manager")]) {
      expect(pinStatus(pin, today).daysLeft, key(pin)).toBeGreaterThanOrEqual(0);
      expect(pin.accepted, key(pin)).toBeUndefined();
    }
    // EKS 1.33 ended standard support 2026-07-29 and 1.34 on 2026-12-02; cert-manager 1.18 and 1.19
    // ended with the releases of 1.20 (2026-03-10) and 1.21 (July 2026).
    expect(at("kubernetes", "EKS").map((pin) => pin.version)).not.toContain("1.33");
    expect(CHARTS.certManager.version).not.toMatch(/^v1\.(1[0-9])\./);
  });
});

describe("pinStatus", () => {
  const pin: PinSupport = {
    kind: "chart",
    name: "example",
    version: "1.0.0",
    released: "2026-01-01",
    releasedSource: "a test fixture",
    endOfSupport: "2026-06-30",
    supportSource: "a test fixture",
  };
  it("counts age and days left, and flags a pin the day after its end of support", () => {
    expect(pinStatus(pin, new Date("2026-06-30T12:00:00Z"))).toMatchObject({
      ageDays: 180,
      daysLeft: 0,
      unsupported: false,
    });
    expect(pinStatus(pin, new Date("2026-07-01T00:00:00Z"))).toMatchObject({
      daysLeft: -1,
      unsupported: true,
    });
  });
  it("counts a pin without a published support window as unsupported past the age limit", () => {
    const unwindowed = { ...pin, endOfSupport: null };
    const limit = new Date(Date.parse("2026-01-01T00:00:00Z") + MAX_AGE_WITHOUT_WINDOW_DAYS * DAY_MS);
    expect(pinStatus(unwindowed, limit)).toMatchObject({ daysLeft: 0, unsupported: false });
    expect(pinStatus(unwindowed, new Date(limit.getTime() + DAY_MS))).toMatchObject({
      daysLeft: -1,
      unsupported: true,
    });
  });

  it("lets an acceptance cover a pin past its end only until the acceptance's own end", () => {
    const accepted = { ...pin, accepted: { until: "2026-08-31", reason: "a test fixture" } };
    expect(pinStatus(accepted, new Date("2026-08-31T12:00:00Z"))).toMatchObject({
      unsupported: false,
      acceptedPastEnd: true,
    });
    expect(pinStatus(accepted, new Date("2026-09-01T00:00:00Z"))).toMatchObject({ unsupported: true });
  });
});

describe("the test control plane's CRDs", () => {
  it("come from the cert-manager release the platform installs (scripts/tools/pins.sh)", () => {
    const pins = readFileSync(new URL("../../scripts/tools/pins.sh", import.meta.url), "utf8");
    const pinned = /^CERT_MANAGER_VERSION=(\S+)$/m.exec(pins)?.[1];
    expect(`v${pinned}`).toBe(CHARTS.certManager.version);
  });
});
