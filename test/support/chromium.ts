/**
 * Headless Chromium for browser tests: Debian's /usr/bin/chromium (installed by
 * scripts/install-test-tools.sh; playwright-core cannot download a browser here), with the flags
 * that keep it quiet and offline.
 */
export const CHROMIUM_PATH = "/usr/bin/chromium";

export const CHROMIUM_ARGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
