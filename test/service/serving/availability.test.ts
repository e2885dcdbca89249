/**
 * A full inference queue answers 503 OVERLOADED with Retry-After on the plinth model's /predict:
 * the batcher's QueueFullError is that ApiError itself (inference/batcher.ts), which the serving
 * core passes on as it is.
 */
import { expect, it } from "vitest";
import { rowForClass } from "../inference/fixture-model.js";
import { errorCode, KEY_HEADERS, startTestService, type TestService } from "../server/service-fixture.js";

/** Room for one request of three rows, which waits up to a second for a fourth row. */
const FULL_AFTER_ONE_REQUEST = {
  QUEUE_MAX_ROWS: "4",
  BATCH_MAX_SIZE: "4",
  MAX_ROWS_PER_REQUEST: "3",
  BATCH_MAX_DELAY_MS: "1000",
};

it("POST /predict beyond a full inference queue: 503 OVERLOADED with Retry-After; the request that fits is served", async () => {
  const svc: TestService = await startTestService(FULL_AFTER_ONE_REQUEST);
  try {
    const three = { inputs: [rowForClass(1), rowForClass(2), rowForClass(3)] };
    const [first, ...rest] = await Promise.all(
      [0, 1, 2, 3].map(() =>
        svc.app.inject({ method: "POST", url: "/predict", headers: KEY_HEADERS, payload: three }),
      ),
    );
    expect(first!.statusCode, first!.body).toBe(200);
    // The first request's rows wait for a fourth; three more do not fit beside them.
    expect(rest.map((res) => [res.statusCode, errorCode(res), res.headers["retry-after"]])).toEqual(
      Array.from({ length: 3 }, () => [503, "OVERLOADED", "1"]),
    );
  } finally {
    await svc.close();
  }
});
