/**
 * OpenAPI from the route schemas (@fastify/swagger), served as `/openapi.json` and browsable at
 * `/docs` (swagger-ui). Both are public. Must be registered before the routes it describes.
 */
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance, RouteOptions } from "fastify";
import { routeAccess } from "../auth/route-auth.js";

/** The schemes API credentials are sent in (components.securitySchemes below). */
const API_SCHEMES = ["apiKey", "bearer"] as const;

/**
 * An onRoute hook: a documented route's security comes from its auth declaration, never from its
 * schema. API routes get one requirement per scheme and role (OpenAPI 3.1 lets a non-OAuth scheme
 * name the roles an operation needs; alternatives are OR-ed), public ones none; `x-plinth-auth`
 * carries the whole declaration, including what OpenAPI cannot say (oauth2-proxy users).
 */
export function documentAccess(route: RouteOptions): void {
  const schema = route.schema as { hide?: boolean; security?: unknown } | undefined;
  if (schema === undefined || schema.hide === true) return;
  const access = routeAccess(route.config);
  const { security: _ignored, ...rest } = schema;
  const api = access !== "public" && access.accepts.includes("api");
  const roles = access === "public" ? [] : access.roles;
  const security =
    roles.length === 0
      ? API_SCHEMES.map((scheme) => ({ [scheme]: [] as string[] }))
      : roles.flatMap((role) => API_SCHEMES.map((scheme) => ({ [scheme]: [role] })));
  const documented: Record<string, unknown> = { ...rest, "x-plinth-auth": access };
  if (api) documented.security = security;
  route.schema = documented;
}

interface DocumentedOperation {
  requestBody?: { required?: boolean; content?: Record<string, { schema?: { type?: string | string[] } }> };
}

/**
 * @fastify/swagger marks every declared body as required; a JSON body whose schema admits null
 * (`POST /reload-model`) is optional, and the document says so.
 */
export function markOptionalBodies<T extends { paths?: object }>(document: T): T {
  for (const operations of Object.values(document.paths ?? {}) as Record<string, DocumentedOperation>[]) {
    for (const operation of Object.values(operations)) {
      const type = operation.requestBody?.content?.["application/json"]?.schema?.type;
      if (type !== undefined && [type].flat().includes("null")) operation.requestBody!.required = false;
    }
  }
  return document;
}

/** swagger-ui's static CSP with `frame-ancestors 'none'` and only the service's own origin. */
export function docsCsp(header: string): string {
  return header
    .replace("frame-ancestors 'self'", "frame-ancestors 'none'")
    .replace(/ https:/g, "")
    .replace(" validator.swagger.io", "");
}

export async function registerDocs(app: FastifyInstance): Promise<void> {
  // Before swagger's own onRoute hook, which collects the routes it documents.
  app.addHook("onRoute", documentAccess);
  await app.register(swagger, {
    transformObject: (documents) =>
      markOptionalBodies("openapiObject" in documents ? documents.openapiObject : documents.swaggerObject),
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "plinth inference service",
        version: "0.1.0",
        description:
          "ONNX image classification: JSON rows, images and the Open Inference Protocol v2. " +
          "Errors use one envelope: `{ error: { code, message, requestId } }`.",
      },
      components: {
        securitySchemes: {
          apiKey: { type: "apiKey", in: "header", name: "x-api-key" },
          bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT or API key" },
        },
      },
    },
  });
  app.addHook("onRoute", (route) => {
    // swagger-ui's own routes (the page and its static files) are public documentation.
    if (route.url.startsWith("/docs")) route.config = { ...route.config, auth: "public", rateLimit: false };
  });
  await app.register(swaggerUi, {
    routePrefix: "/docs",
    // No remote validator badge: the page loads nothing from outside the service.
    uiConfig: { docExpansion: "list", validatorUrl: null },
    // swagger-ui's own CSP (hashes of its inline scripts), tightened: /docs shares its origin with
    // /admin, so it must not be framed (clickjacking) nor load fonts or styles from elsewhere.
    staticCSP: true,
    transformStaticCSP: docsCsp,
  });
  app.get(
    "/openapi.json",
    { config: { auth: "public", rateLimit: false }, schema: { hide: true } },
    async () => app.swagger(),
  );
}
