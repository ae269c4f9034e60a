# syntax=docker/dockerfile:1
# Ferry container image: docs/operations.md ("Container image") explains every choice below.
#
#   docker build -t ferry .
#   docker run -d --name ferry -p 1883:1883 -p 8083:8083 -p 8080:8080 -v ferry-data:/var/lib/ferry ferry
#   docker logs ferry 2>&1 | grep -A3 'bootstrap AccessKey'   # printed once, on the first start

# ---- build: compile TypeScript, then drop the dev dependencies ------------------------------------
FROM node:20-bookworm-slim AS build
# better-sqlite3 is a native module: npm fetches a prebuilt binary for linux-x64/arm64 when it can and
# compiles it otherwise, which needs a toolchain. The toolchain stays in this stage.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Manifests first: the dependency layer is rebuilt only when they change.
COPY package.json package-lock.json ./
# --ignore-scripts skips the package's own "prepare" (the build, which needs the sources not copied
# yet); the native module's install script is run explicitly by the rebuild.
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3
# The server (src/ → dist/src; tsconfig.json also includes test/ and bench/, which are not in the
# image) and the web console (console/ → dist/console, bundled by esbuild): `npm run build`.
COPY tsconfig.json ./
COPY scripts/build-console.mjs ./scripts/
COPY console ./console
COPY src ./src
RUN npm run build && npm prune --omit=dev --ignore-scripts

# ---- runtime: node, the compiled sources and the production dependencies -------------------------
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    FERRY_DATA_DIR=/var/lib/ferry \
    FERRY_BIND=0.0.0.0
WORKDIR /app
COPY --from=build --chown=root:root /app/package.json ./
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist/src ./dist/src
COPY --from=build --chown=root:root /app/dist/console ./dist/console
# The image's own files are owned by root and read-only to Ferry; only the data directory is
# writable. "node" (uid 1000) is the unprivileged user the official image ships.
RUN mkdir -p /var/lib/ferry && chown node:node /var/lib/ferry && chmod 0700 /var/lib/ferry
USER node
VOLUME ["/var/lib/ferry"]
# MQTT, MQTT over WebSocket, HTTP (API, /healthz, /readyz, /metrics); MQTT over TLS and secure
# WebSocket listen only when FERRY_TLS_CERT and FERRY_TLS_KEY are set.
EXPOSE 1883 8083 8080 8883 8084
# Liveness: /healthz answers while the event loop runs. (Readiness, /readyz, is for load balancers
# and Kubernetes readinessProbe; a failing health check should not restart a broker that is only
# not ready.) No curl in the slim image: node's fetch does it.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.FERRY_HTTP_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM (docker stop, Kubernetes) starts the graceful stop; it may take up to 15 s before Ferry
# exits 1, so give it more than Docker's default 10 s: docker stop -t 20 / --stop-timeout 20.
STOPSIGNAL SIGTERM
# --max-semi-space-size=4: V8's young generation capped, as `npm start` and the `ferry` bin do (the
# semiSpaceMb setting, docs/configuration.md; FERRY_SEMI_SPACE_MB=0 restores V8's own sizing).
# --interrupt-budget=8448: hot code optimized sooner, a fresh node's first connect storm faster
# (docs/operations.md "How node is started").
ENTRYPOINT ["node", "--max-semi-space-size=4", "--interrupt-budget=8448", "dist/src/cli/main.js"]
CMD ["start"]
