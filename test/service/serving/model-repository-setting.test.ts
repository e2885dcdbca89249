/**
 * MODEL_REPOSITORY: accepted in every form of a model reference, refused with a message naming the
 * variable and the bad item; unset, the service is one model per process as before (no repository
 * endpoints, no protocol extension).
 */
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../service/config.js";
import { configIssues } from "../../support/config-issues.js";
import { KEY_HEADERS, testServiceForSuite } from "../server/service-fixture.js";

describe("MODEL_REPOSITORY", () => {
  it("reads name=reference pairs in every reference form", () => {
    const config = loadConfig({
      MODEL_REPOSITORY: "iris=models:/iris@champion, churn=models:/churn/3 ,wine=2,digits=file:/models/d=1,",
    });
    expect(config.model.repository).toEqual([
      { name: "iris", reference: "models:/iris@champion" },
      { name: "churn", reference: "models:/churn/3" },
      { name: "wine", reference: "2" },
      { name: "digits", reference: "file:/models/d=1" },
    ]);
  });

  it("is empty when unset: one model per process", () => {
    expect(loadConfig({}).model.repository).toEqual([]);
  });

  it.each([
    ["iris=champion,wine", /^MODEL_REPOSITORY="iris=champion,wine": item "wine": expected name=reference/],
    [
      "Iris=champion",
      /^MODEL_REPOSITORY="Iris=champion": item "Iris=champion": model name "Iris" is not like/,
    ],
    [
      "iris=models:/iris",
      /: item "iris=models:\/iris": not models:\/<name>@<alias> or models:\/<name>\/<version>/,
    ],
    [
      "iris=models:/wine@champion",
      /: item "iris=models:\/wine@champion": the reference names model "wine", not "iris"/,
    ],
    ["iris=1,iris=2", /: item "iris=2": model "iris" is listed twice$/],
    ["iris=", /: item "iris=": expected name=reference/],
  ])("refuses %s naming the variable and the item", (value, message) => {
    expect(configIssues({ MODEL_REPOSITORY: value })).toEqual([expect.stringMatching(message)]);
  });

  it("refuses the default model listed again", () => {
    expect(configIssues({ MODEL_REPOSITORY: "fashion-classifier=2" })).toEqual([
      'MODEL_REPOSITORY: model "fashion-classifier" is MODEL_NAME, served already (by MODEL_STABLE); list only the other models',
    ]);
  });
});

describe("one model per process (MODEL_REPOSITORY unset)", () => {
  const service = testServiceForSuite();

  it("has no repository endpoints and advertises no extension", async () => {
    const index = await service().app.inject({
      method: "POST",
      url: "/v2/repository/index",
      headers: KEY_HEADERS,
    });
    expect(index.statusCode).toBe(404);
    expect(
      (await service().app.inject({ method: "GET", url: "/v2", headers: KEY_HEADERS })).json().extensions,
    ).toEqual([]);
  });
});
