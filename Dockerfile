# The plinth image: the inference service, and the training job from the same image.
#
#   build   docker build -t plinth .
#   serve   docker run --read-only --tmpfs /tmp -p 8080:8080 -p 9464:9464 \
#             -v "$PWD/models:/models:ro" -e PLINTH_REGISTRY_DIR=/models plinth
#   train   docker run --read-only --tmpfs /tmp -v "$PWD/models:/models" -e PLINTH_REGISTRY_DIR=/models \
#             --entrypoint node plinth dist/service/train/main.js --registry=/models --out=/tmp/train
#           (what `npm run train` runs, on the Fashion-MNIST the image carries; on Kubernetes the
#           retrain CronJob runs it with --mlflow on the same image)
#
# Needs BuildKit (the default builder since Docker 23) for the npm cache mount.
#
# No model is baked in: at start the service resolves its versions from the registry (the folder
# in PLINTH_REGISTRY_DIR, mounted, or MLflow). The image runs JavaScript compiled from service/ by
# `npm run build` (tsconfig.build.json), the same dist/ the suite's process tests start; the
# programs it runs are named once, in service/contract/image-commands.ts.
#
# The base is pinned to an exact Node release (the one CI tests with). The image that runs is
# pinned by digest in the platform config (`inference.image` in Pulumi.<stack>.yaml must be
# `registry/name@sha256:...`), so a moved tag never changes a running deployment.

# --- deps: production dependencies only, from the lockfile -------------------------------------
FROM node:20.20.2-bookworm-slim AS deps
WORKDIR /app
# .npmrc holds onnxruntime-node-install=skip: its install script would otherwise fetch CUDA
# binaries; the CPU binaries ship inside the npm package.
COPY package.json package-lock.json .npmrc ./
# One package.json serves the infrastructure program too: the packages only it uses (Pulumi and
# its providers, the Grafana dashboard SDK: over 220 MB; tsx, which runs that program and the
# command-line tools from their TypeScript) are removed
# from this install, resolved from the lockfile. test/workflows/dockerfile.test.ts checks that
# nothing under service/ imports them.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --no-audit --no-fund \
    && npm uninstall --omit=dev --no-audit --no-fund \
       @pulumi/pulumi @pulumi/aws @pulumi/gcp @pulumi/kubernetes @pulumi/random @pulumi/policy \
       @grafana/grafana-foundation-sdk tsx
# onnxruntime-node ships its native binding for every OS and CPU (about 290 MB): keep this
# platform's only, and fail the build if the layout it loads from has moved.
RUN keep="linux/$(node -p process.arch)" \
    && cd node_modules/onnxruntime-node/bin/napi-v6 \
    && for dir in */*; do [ "$dir" = "$keep" ] || rm -rf "$dir"; done \
    && test -f "$keep/onnxruntime_binding.node"

# --- build: service/ compiled to JavaScript (npm run build: type-checked, then emitted) ------------
FROM node:20.20.2-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY service ./service
# The incremental build's state file has no use in the image.
RUN npm run build && rm dist/.tsbuildinfo

# --- runtime ----------------------------------------------------------------------------------
FROM node:20.20.2-bookworm-slim AS runtime

# A numeric, non-root identity (the platform's workloads run as 10001:10001 with
# runAsNonRoot, which Kubernetes can only verify for a numeric USER).
RUN groupadd --system --gid 10001 plinth \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin plinth

# The training entrypoint (the platform's retrain CronJob) reads Fashion-MNIST from Debian's
# dataset-fashion-mnist (about 30 MB), at the pin of scripts/tools/pins.sh.
RUN apt-get update \
    && apt-get install -y --no-install-recommends "dataset-fashion-mnist=0.0~git20200523.55506a9-1" \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    METRICS_HOST=0.0.0.0

# Code and dependencies stay owned by root: the service can read them, never change them. The
# root filesystem can be mounted read-only; the only writable path is /tmp (the training job's
# scratch), an emptyDir on Kubernetes or --tmpfs /tmp under docker. package.json marks dist/ as ES
# modules; the admin panel's static files are served from service/admin.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY service/admin ./service/admin

USER 10001:10001

# 8080: the API (HTTP). 9464: Prometheus metrics, on a separate listener that is never exposed
# through the ingress.
EXPOSE 8080 9464

# No HEALTHCHECK: Kubernetes ignores it. Health is checked by the Deployment's startup,
# readiness and liveness probes, against the service's /ready/pod and /health (service/contract/probe-paths.ts).
ENTRYPOINT ["node", "dist/service/main.js"]
