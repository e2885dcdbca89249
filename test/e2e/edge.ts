/**
 * What each local edge answers where Traefik (the cluster's Gateway path) and nginx (the Ingress
 * path) differ in form, not in substance, for the e2e suites: a protected path without a session is
 * sent to sign in (Traefik's Errors middleware asks oauth2-proxy's /oauth2/start itself and hands
 * back its redirect to the identity provider; nginx redirects to /oauth2/start first), and a path no
 * route lists is a 404 from the edge, never the service's (Traefik's own text, nginx's JSON envelope).
 */
import { expect } from "vitest";
import type { Edge } from "../../stack/local/stack.js";
import type { EdgeAnswer } from "../support/through-traefik.js";

/**
 * `answer` sends the browser to sign in for `path` on `origin`, and back to that page afterwards:
 * nginx's 302 to `/oauth2/start?rd=<path>`, Traefik's 302 straight to the provider's authorize URL
 * (oauth2-proxy's answer to /oauth2/start) whose state carries the page's URL.
 */
export function expectSignInRedirect(
  edge: Edge,
  answer: EdgeAnswer,
  where: { origin: string; issuer: string; path: string },
): void {
  expect(answer.status, where.path).toBe(302);
  const location = String(answer.headers.location);
  if (edge === "nginx") {
    expect(location, where.path).toBe(`${where.origin}/oauth2/start?rd=${where.path}`);
    return;
  }
  const authorize = new URL(location);
  expect(authorize.origin, where.path).toBe(where.issuer);
  expect(authorize.searchParams.get("client_id")).toBe("plinth-local");
  expect(authorize.searchParams.get("redirect_uri")).toBe(`${where.origin}/oauth2/callback`);
  expect(authorize.searchParams.get("code_challenge_method")).toBe("S256");
  // oauth2-proxy's state: <nonce>:<where to go after the callback>.
  expect(authorize.searchParams.get("state"), where.path).toMatch(/^[^:]+:/);
  expect(authorize.searchParams.get("state")!.replace(/^[^:]+:/, ""), where.path).toBe(
    `${where.origin}${where.path}`,
  );
}

/** `answer` is the edge's 404 for a path no route lists: no service process saw the request. */
export function expectUnrouted(edge: Edge, answer: EdgeAnswer, path: string): void {
  expect(answer.status, path).toBe(404);
  expect(answer.headers["x-prediction-id"], path).toBeUndefined();
  if (edge === "nginx") {
    expect(JSON.parse(answer.body), path).toMatchObject({
      error: { code: "NOT_FOUND", message: "No route for this path on the ingress." },
    });
  } else {
    expect(answer.body, path).toBe("404 page not found\n");
  }
}

/** The `Server` header each edge answers with (Traefik sends none). */
export const SERVER_HEADER: Record<Edge, string | undefined> = { traefik: undefined, nginx: "nginx" };
