/**
 * nginx.conf for the local stack, written from the same values the platform's Ingresses are:
 * the public paths (PUBLIC_PATHS) go straight to the service; the protected paths
 * (PROTECTED_PATHS) go through the external-auth annotations oauth2-proxy's `protect()` returns
 * (auth-url, auth-signin, auth-response-headers), translated the way ingress-nginx translates
 * them: an `auth_request` subrequest, a 302 to the sign-in URL on 401, and the response headers
 * copied upstream over whatever the client sent. Anything else is a 404, as on the cluster, where
 * no Ingress lists `/`. HTTP answers a 308 to HTTPS, as the controller's force-ssl-redirect does.
 *
 * Which path goes to which service process, and which are protected, is edge-routes.ts's (the
 * Traefik edge, traefik-conf.ts, renders the same list): for a stack file's models (`models`), each
 * model's public paths to the process that serves it, the protected paths to the default model's,
 * and each process's operator routes by its model's name through oauth2-proxy to that process.
 *
 * nginx is the local edge's option (`--edge nginx`), for clusters that keep ingress-nginx; the
 * default edge is Traefik, as the cluster's Gateway path.
 *
 * One difference from the cluster: oauth2-proxy lives under /oauth2 on the same host instead of
 * auth.<domain>, since loopback has one name.
 */
import { protectedIngressAnnotations } from "../../components/oauth2-proxy/contract.js";
import type { IngressPath } from "../../components/shared/ingress.js";
import { edgeRoutes, processPorts, type EdgeModelRoute } from "./edge-routes.js";

const ANNOTATION = "nginx.ingress.kubernetes.io/";

/**
 * Connection limits as ingress-nginx sets them by default (`max-worker-connections` 16384,
 * `upstream-keepalive-connections` 320), scaled to one worker on loopback: the soak's open-loop
 * generator holds hundreds of client connections, and each proxied request also needs one to
 * the service. With 1,024 and 32, a burst churned upstream connections instead of reusing them.
 */
const WORKER_CONNECTIONS = 4096;
const UPSTREAM_KEEPALIVE = 320;

/** One model of a stack of several and its process's port (see edge-routes.ts). */
export type NginxModelRoute = EdgeModelRoute;

/** The upstream of the default model's process (and of the single service): the protected paths go to it. */
const DEFAULT_UPSTREAM = "plinth_service";

/** The upstream of the process on `port`: one per process, the default model's {@link DEFAULT_UPSTREAM}. */
function upstreamOf(port: number, defaultPort: number): string {
  return port === defaultPort ? DEFAULT_UPSTREAM : `${DEFAULT_UPSTREAM}_${port}`;
}

export interface NginxConfOptions {
  /** Folder for nginx's pid file and temp files (writable by its workers). */
  readonly prefix: string;
  /** Public host name in redirects. */
  readonly host: string;
  readonly httpsPort: number;
  readonly httpPort: number;
  /** The service's API port: the default model's when `models` is given. */
  readonly servicePort: number;
  /**
   * The models of a stack file and their processes' ports (exactly one default, whose process is on
   * `servicePort`). Unset: one service on `servicePort` serving PUBLIC_PATHS.
   */
  readonly models?: readonly NginxModelRoute[];
  readonly oauth2ProxyPort: number;
  readonly certFile: string;
  readonly keyFile: string;
  /** Added to every request forwarded to the service (OPS_OIDC_EDGE_TOKEN_SHA256 holds its hash). */
  readonly edgeToken: string;
  /** Unprivileged user the workers run as when nginx starts as root. */
  readonly workerUser?: string;
  /** One line per request in <prefix>/access.log (off for load tests). nginx cannot open the
   * supervisor's stdout: it is a socket, not a file or pipe. */
  readonly accessLog: boolean;
  /** Accept-queue length of the HTTPS listener (ingress-nginx uses `net.core.somaxconn`). */
  readonly backlog: number;
}

/** `location` blocks matching an Ingress path with ingress-nginx's semantics. */
function locations(ingressPath: IngressPath, body: string): string {
  const { path, pathType } = ingressPath;
  if (pathType === "Exact") return `location = ${path} {\n${body}}\n`;
  // Prefix matches whole path elements: /admin and /admin/..., never /administrator.
  return `location = ${path} {\n${body}}\nlocation ^~ ${path}/ {\n${body}}\n`;
}

function indent(lines: readonly string[], depth: number): string {
  return lines.map((line) => `${"  ".repeat(depth)}${line}\n`).join("");
}

/** The directives that proxy a location to `upstream`. */
const proxyTo = (upstream: string) => [
  `proxy_pass http://${upstream};`,
  "proxy_http_version 1.1;",
  'proxy_set_header Connection "";',
  "proxy_set_header Host $http_host;",
  "proxy_set_header X-Request-ID $request_id;",
  "proxy_set_header X-Real-IP $remote_addr;",
  "proxy_set_header X-Forwarded-For $remote_addr;",
  "proxy_set_header X-Forwarded-Proto $scheme;",
];

/** The external-auth directives of one protected location, from the Ingress annotations. */
function externalAuth(annotations: Record<string, string>): string[] {
  const headers = (annotations[`${ANNOTATION}auth-response-headers`] ?? "").split(",").filter(Boolean);
  return [
    "auth_request /_external-auth;",
    ...headers.flatMap((header) => {
      const variable = `$authHeader_${header.toLowerCase().replace(/-/g, "_")}`;
      const upstream = `$upstream_http_${header.toLowerCase().replace(/-/g, "_")}`;
      // Always set, so a value the client sent is replaced (or removed, when the proxy sends none).
      return [`auth_request_set ${variable} ${upstream};`, `proxy_set_header ${header} ${variable};`];
    }),
    "error_page 401 = @signin;",
  ];
}

export function renderNginxConf(options: NginxConfOptions): string {
  const origin = `https://${options.host}:${options.httpsPort}`;
  // The auth-url is oauth2-proxy's /oauth2/auth; the sign-in keeps the page asked for in `rd`.
  const annotations = protectedIngressAnnotations(
    `http://127.0.0.1:${options.oauth2ProxyPort}/oauth2/auth`,
    `${origin}/oauth2/start?rd=$request_uri`,
  );
  const authUrl = annotations[`${ANNOTATION}auth-url`];
  const signinUrl = annotations[`${ANNOTATION}auth-signin`];
  // On every route, so whatever a client sent under that name is replaced.
  const toService = (upstream: string) => [
    ...proxyTo(upstream),
    `proxy_set_header X-Plinth-Edge-Token "${options.edgeToken}";`,
  ];
  const protectedBody = (upstream: string) =>
    indent([...externalAuth(annotations), ...toService(upstream)], 1);
  const routes = edgeRoutes(options.servicePort, options.models)
    .map(({ path, port, protected: guarded }) => {
      const upstream = upstreamOf(port, options.servicePort);
      return locations(path, guarded ? protectedBody(upstream) : indent(toService(upstream), 1));
    })
    .join("");
  const upstreams = processPorts(options.servicePort, options.models)
    .map(
      (port) =>
        `upstream ${upstreamOf(port, options.servicePort)} { server 127.0.0.1:${port}; keepalive ${UPSTREAM_KEEPALIVE}; }`,
    )
    .join("\n  ");

  return `# Written by stack/local/nginx-conf.ts for one run of the local stack.
worker_processes 1;
${options.workerUser ? `user ${options.workerUser};` : ""}
pid ${options.prefix}/nginx.pid;
error_log stderr notice;
events { worker_connections ${WORKER_CONNECTIONS}; }
http {
  server_tokens off;
  ${options.accessLog ? `log_format plinth '$time_iso8601 $remote_addr "$request" $status $request_time';\n  access_log ${options.prefix}/access.log plinth;` : "access_log off;"}
  client_body_temp_path ${options.prefix}/client_body;
  proxy_temp_path ${options.prefix}/proxy;
  fastcgi_temp_path ${options.prefix}/fastcgi;
  uwsgi_temp_path ${options.prefix}/uwsgi;
  scgi_temp_path ${options.prefix}/scgi;
  client_max_body_size 5m;
  ${upstreams}
  upstream oauth2_proxy { server 127.0.0.1:${options.oauth2ProxyPort}; keepalive 8; }

  server {
    listen 127.0.0.1:${options.httpPort};
    location / { return 308 ${origin}$request_uri; }
  }

  server {
    listen 127.0.0.1:${options.httpsPort} ssl http2 backlog=${options.backlog};
    ssl_certificate ${options.certFile};
    ssl_certificate_key ${options.keyFile};
    ssl_protocols TLSv1.2 TLSv1.3;
    add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;

    # oauth2-proxy's own Ingress: sign-in, callback, sign-out.
    location /oauth2/ {
      proxy_pass http://oauth2_proxy;
      proxy_set_header Host $http_host;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;
    }

    # auth-url: asked before every protected request, without its body.
    location = /_external-auth {
      internal;
      proxy_pass ${authUrl};
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Forwarded-Uri $request_uri;
    }

    # auth-signin: where a request without a session is sent.
    location @signin {
      return 302 ${signinUrl};
    }

${routes
  .split("\n")
  .map((line) => (line === "" ? "" : `    ${line}`))
  .join("\n")}
    location / {
      default_type application/json;
      return 404 '{"error":{"code":"NOT_FOUND","message":"No route for this path on the ingress.","requestId":"$request_id"}}';
    }
  }
}
`;
}
