/**
 * Maps MLflow artifact URIs to paths under the tracking server's artifact proxy
 * (`/api/2.0/mlflow-artifacts/artifacts/<path>`). With `mlflow server --serve-artifacts`, run
 * artifact URIs are `mlflow-artifacts:/<experiment>/<run>/artifacts`, optionally with a host
 * (`mlflow-artifacts://host:port/...`); the host is the tracking server the client already talks to.
 */

const SCHEME = "mlflow-artifacts:";

/** True when `uri` is served by the artifact proxy. */
export function isProxiedArtifactUri(uri: string): boolean {
  return uri.startsWith(SCHEME);
}

function checkSegments(segments: string[], what: string): void {
  for (const s of segments) {
    if (s === "." || s === "..") throw new Error(`${what}: "." and ".." are not allowed in artifact paths`);
  }
}

/**
 * The proxy path (each segment percent-encoded) of `relativePath` under the artifact URI.
 * Throws for URIs the proxy does not serve (s3://, gs://, file:, runs:/ ...): the server then was
 * started without `--serve-artifacts`, or a `runs:/` source must first be resolved by the registry.
 */
export function artifactProxyPath(artifactUri: string, relativePath = ""): string {
  if (!isProxiedArtifactUri(artifactUri)) {
    throw new Error(
      `artifact URI ${JSON.stringify(artifactUri)} is not served by the tracking server's artifact proxy ` +
        `(expected ${SCHEME}/...; start MLflow with --serve-artifacts)`,
    );
  }
  let rest = artifactUri.slice(SCHEME.length);
  // `mlflow-artifacts://host:port/path`: drop the authority.
  if (rest.startsWith("//")) rest = rest.slice(2).replace(/^[^/]*/, "");
  const base = rest.split("/").filter((s) => s !== "");
  const relative = relativePath.split("/").filter((s) => s !== "");
  checkSegments(base, artifactUri);
  checkSegments(relative, relativePath);
  return [...base, ...relative].map(encodeURIComponent).join("/");
}
