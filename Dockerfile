# syntax=docker/dockerfile:1
# One image for every pipeline service, CPU inference (GPU nodes: Dockerfile.cuda). Each container picks its
# service with its command, `node <entry point>` from the WORKDIR; the entry points are the LABELs below.
# Nothing is downloaded at start: the services run compiled JavaScript with production dependencies only.
# test/unit/deploy/image.test.ts checks this file against the build (scripts/build/dist-layout.ts), the package
# scripts, docker-compose.yml and the Kubernetes manifests, since no Docker engine runs in CI.

# Node.js 26 "Lithium" is the Active LTS line since October 2026 (24 is in maintenance until April 2028).
ARG NODE_IMAGE=node:26-trixie-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
# .npmrc skips onnxruntime-node's CUDA download; the CPU build ships inside the npm package. npm ci's postinstall
# applies patches/ (patch-package): kafkajs 2.2.4 drops or duplicates records when a partition's leader moves.
COPY package.json package-lock.json .npmrc ./
COPY patches patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build scripts/build
# Every folder tsconfig.build.json compiles, and the run-time assets (schemas, models, dashboard files).
COPY platform platform
COPY schemas schemas
COPY models models
COPY producers producers
COPY router router
COPY inference-consumers inference-consumers
COPY drift-monitor drift-monitor
COPY rollouts rollouts
COPY gateway gateway
RUN npm run build

FROM ${NODE_IMAGE} AS production-dependencies
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# The shipped kafkajs is the patched one: patch-package is a production dependency for this postinstall.
COPY patches patches
RUN npm ci --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    NODE_OPTIONS=--enable-source-maps \
    METRICS_HOST=0.0.0.0 \
    GATEWAY_HOST=0.0.0.0 \
    MODEL_CACHE_DIR=/var/cache/imgpipe/models
WORKDIR /app
COPY package.json ./
COPY --from=production-dependencies /app/node_modules node_modules
COPY --from=build /src/dist dist
# Downloaded model files; Kubernetes mounts an emptyDir here (the root file system is read-only there).
RUN mkdir -p /var/cache/imgpipe/models && chown -R 1000:1000 /var/cache/imgpipe
# Relative paths (MODEL_URI's default models/<name>/<version>, FETCH_FILE_ROOTS' ./data) resolve inside dist/.
WORKDIR /app/dist
# The node user, by number so that Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
# Ops ports (METRICS_PORT: /metrics, /healthz, /readyz) as README "Deploy" assigns them, and the gateway's HTTP port.
EXPOSE 8000 9101 9102 9103 9104 9105

# Entry points, one per service, named like the package script that runs the same service from source.
LABEL imgpipe.entrypoint.router="router/main.js"
LABEL imgpipe.entrypoint.inference="inference-consumers/main.js"
LABEL imgpipe.entrypoint.drift-monitor="drift-monitor/main.js"
LABEL imgpipe.entrypoint.rollouts="rollouts/main.js"
LABEL imgpipe.entrypoint.gateway="gateway/main.js"
CMD ["node", "router/main.js"]
