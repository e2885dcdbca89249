/**
 * API fuzzing of the bundled model (`node dist/service/main.js` on `models/`): schemathesis against the
 * OpenAPI document the service serves, every phase, with the fixed seed and the checks of
 * test/support/schemathesis.ts. test/interop/fuzz-third-party.test.ts runs the same suite against
 * a third-party model.
 */
import { describeFuzzing } from "../support/schemathesis.js";

describeFuzzing("schemathesis against the OpenAPI document", {
  env: () => ({}),
  // Per operation and phase; with 17 operations this yields about 1,300 requests.
  maxExamples: 50,
  minRequests: 1000,
  answered: [/\/v2\/models\/[^/]+\/infer$/, /\/metadata$/],
});
