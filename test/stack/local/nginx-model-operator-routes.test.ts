/**
 * The local nginx.conf for a stack file's models publishes each process's operator routes under its
 * model's name (`/models/<name>/admin`, `/models/<name>/ops`, `/models/<name>/reload-model`)
 * through oauth2-proxy to that model's own process, as the model's protected Ingress does on the
 * cluster; a model served beside another in one process (MODEL_REPOSITORY) gets none, and the bare
 * operator routes stay the default model's.
 */
import { describe, expect, it } from "vitest";
import { modelProtectedPaths, PROTECTED_PATHS } from "../../../components/inference/routes.js";
import { AUTH_RESPONSE_HEADERS } from "../../../components/oauth2-proxy/contract.js";
import { renderTestNginxConf } from "./nginx-fixture.js";

const models = [
  { name: "fashion-mnist", port: 18080, isDefault: true },
  { name: "churn", port: 18081, isDefault: false },
  { name: "defects", port: 18082, isDefault: false },
  // One shared process: iris its MODEL_NAME, wine beside it (MODEL_REPOSITORY).
  { name: "iris", port: 18083, isDefault: false },
  { name: "wine", port: 18083, isDefault: false },
];
const conf = renderTestNginxConf(models);

/** The bodies of every `location <match>` block (a match written twice would show here). */
function blocks(match: string): string[] {
  const found: string[] = [];
  for (
    let at = conf.indexOf(`location ${match} {`);
    at >= 0;
    at = conf.indexOf(`location ${match} {`, at + 1)
  ) {
    found.push(conf.slice(at, conf.indexOf("}", at)));
  }
  return found;
}

/** The location blocks of an Ingress path: `= path`, and `^~ path/` for a Prefix. */
function locationsOf({ path, pathType }: { path: string; pathType: string }): string[] {
  const matches = pathType === "Exact" ? [`= ${path}`] : [`= ${path}`, `^~ ${path}/`];
  return matches.map((match) => {
    const found = blocks(match);
    expect(found, match).toHaveLength(1);
    return found[0]!;
  });
}

function expectProtected(body: string, upstream: string, where: string): void {
  expect(body, where).toContain("auth_request /_external-auth;");
  expect(body, where).toContain("error_page 401 = @signin;");
  for (const header of AUTH_RESPONSE_HEADERS) {
    const variable = `$authHeader_${header.toLowerCase().replace(/-/g, "_")}`;
    expect(body, where).toContain(
      `auth_request_set ${variable} $upstream_http_${header.toLowerCase().replace(/-/g, "_")};`,
    );
    expect(body, where).toContain(`proxy_set_header ${header} ${variable};`);
  }
  expect(body, where).toContain('proxy_set_header X-Plinth-Edge-Token "edge-Token_0123";');
  expect(body, where).toContain(`proxy_pass http://${upstream};`);
}

describe("renderNginxConf: each model's operator routes by name", () => {
  it("sends each process's operator routes by its model's name through oauth2-proxy to that process", () => {
    const upstreams = {
      "fashion-mnist": "plinth_service",
      churn: "plinth_service_18081",
      defects: "plinth_service_18082",
      iris: "plinth_service_18083",
    };
    for (const [name, upstream] of Object.entries(upstreams)) {
      const paths = modelProtectedPaths(name);
      expect(paths.map((p) => p.path)).toEqual([
        `/models/${name}/admin`,
        `/models/${name}/ops`,
        `/models/${name}/reload-model`,
      ]);
      for (const path of paths) {
        for (const body of locationsOf(path)) expectProtected(body, upstream, `${path.path} (${name})`);
      }
    }
    // Exact stays exact: nothing below /models/<name>/reload-model is routed.
    expect(blocks("^~ /models/churn/reload-model/")).toEqual([]);
  });

  it("gives a MODEL_REPOSITORY model no operator routes, and leaves the bare ones the default model's", () => {
    expect(conf).not.toContain("/models/wine/admin");
    expect(conf).not.toContain("/models/wine/ops");
    expect(conf).not.toContain("/models/wine/reload-model");
    for (const path of PROTECTED_PATHS) {
      for (const body of locationsOf(path)) expectProtected(body, "plinth_service", path.path);
    }
  });

  it("routes no operator path by name without oauth2-proxy", () => {
    const unprotected = conf
      .split(/(?=location )/)
      .filter((block) => /^location (= |\^~ )\/models\/[^/]+\/(admin|ops|reload-model)/.test(block))
      .filter((block) => !block.includes("auth_request /_external-auth;"));
    expect(unprotected).toEqual([]);
    // 4 processes x (admin, admin/, ops, ops/, reload-model).
    expect(conf.match(/location (= |\^~ )\/models\/[^/]+\/(admin|ops|reload-model)/g)).toHaveLength(20);
  });
});
