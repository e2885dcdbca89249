/**
 * The drift check's environment variable names (service/drift/check.ts, a CronJob of
 * components/inference): the platform writes them, service/drift/check-settings.ts reads them.
 */
import { envNames } from "./env-names.js";

export const DRIFT_CHECK_ENV = envNames([
  "DRIFT_CHECK_SERVICE_URL",
  "DRIFT_CHECK_API_KEY",
  "DRIFT_CHECK_TIMEOUT_MS",
]);
