/**
 * The operator paths of the contract: the bare ones and each model's under its name, what the
 * platform publishes behind oauth2-proxy and the only routes where the service accepts oauth2-proxy
 * users (checked when a route is registered).
 */
import { describe, expect, it } from "vitest";
import { checkDeclaration } from "../../../service/auth/route-auth.js";
import {
  isOperatorPath,
  modelOperatorPaths,
  modelOperatorPrefix,
  OPERATOR_PATHS,
} from "../../../service/contract/operator-paths.js";

const ADMIN_ACTION = { accepts: ["api", "oauth2-proxy"], roles: ["admin"], audit: "reload-model" };

describe("operator paths", () => {
  it("lists each model's under /models/<name>, in the bare ones' order", () => {
    expect(modelOperatorPrefix("churn")).toBe("/models/churn");
    expect(modelOperatorPaths("churn")).toEqual([
      { path: "/models/churn/admin", exact: false },
      { path: "/models/churn/ops", exact: false },
      { path: "/models/churn/reload-model", exact: true },
    ]);
    expect(modelOperatorPaths("fashion-mnist").map((p) => p.exact)).toEqual(
      OPERATOR_PATHS.map((p) => p.exact),
    );
  });

  it("refuses a name MODEL_NAME would not accept", () => {
    for (const name of ["", "Churn", "../admin", "a/b", "-x", "churn?x=1"]) {
      expect(() => modelOperatorPaths(name), name).toThrow("is not like fashion-classifier");
    }
  });

  it("knows a bare or per-model operator path, and nothing beside or above them", () => {
    for (const url of [
      "/admin",
      "/admin/panel.js",
      "/ops/summary",
      "/reload-model",
      "/models/churn/admin",
      "/models/churn/admin/panel.js",
      "/models/churn/ops",
      "/models/churn/ops/summary",
      "/models/churn/reload-model",
      "/models/fashion-mnist.v2/ops/summary",
    ]) {
      expect(isOperatorPath(url), url).toBe(true);
    }
    for (const url of [
      "/",
      "/administrator",
      "/reload-model/x",
      "/models",
      "/models/churn",
      "/models/churn/",
      "/models/churn/predict",
      "/models/churn/administrator",
      "/models/churn/reload-model/x",
      "/models/Churn/admin",
      "/models//admin",
      "/models/a/b/admin",
      "/v2/models/churn/admin",
      "/x/models/churn/admin",
    ]) {
      expect(isOperatorPath(url), url).toBe(false);
    }
  });

  it("lets a route by name accept oauth2-proxy users only at an operator path", () => {
    const check = (url: string) => () =>
      checkDeclaration({ method: "GET", url, config: { auth: ADMIN_ACTION } });
    for (const url of ["/models/churn/admin", "/models/churn/ops/summary", "/models/churn/reload-model"]) {
      expect(check(url)).not.toThrow();
    }
    for (const url of ["/models/churn/predict", "/models/:name/admin", "/models/churn/reload-model/x"]) {
      expect(check(url)).toThrow(`GET ${url}: accepts oauth2-proxy users, but only the operator paths`);
    }
  });
});
