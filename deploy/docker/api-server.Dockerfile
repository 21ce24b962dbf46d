# syntax=docker/dockerfile:1
# idra-api-server: docker build -f deploy/docker/api-server.Dockerfile -t idra-api-server .   (context: the repository root)
# The public Node 24 image; any Debian-based image with Node 24, npm and a user `node` (uid and gid 1000) will do
# (the image test builds on a local one: deploy/images). Pin it by digest: BASE_IMAGE=node:24-bookworm-slim@sha256:….
ARG BASE_IMAGE=node:24-bookworm-slim

# Install: production dependencies of the API server and the workspace packages it uses, nothing else.
FROM ${BASE_IMAGE} AS build
# better-sqlite3 (a connector dependency) compiles when no prebuilt binary matches.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
RUN npm install -g pnpm@10.34.9
# node-gyp builds against the image's own Node headers instead of downloading them.
ENV npm_config_nodedir=/usr/local
WORKDIR /src
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
# Into the store only: the virtual store pnpm fetch also fills holds every app's packages (the web UI's React too).
RUN pnpm fetch --prod && rm -rf node_modules
COPY . .
# Workspace packages stay linked (not copied into node_modules): Node runs their .ts sources only outside node_modules.
# Tests and test support (each package's exports['./testing'], the apps' test and fault suites) are not shipped.
# --filter-prod: the workspace packages the app needs at run time; --filter would add those of its devDependencies
# (@idra/testkit with its fake S3 server) and their dependencies.
RUN pnpm install --offline --frozen-lockfile --prod --filter-prod @idra/api-server... \
 && find packages apps -name '*.test.ts' -delete \
 && rm -rf packages/*/src/testing apps/*/src/testing apps/*/test apps/*/faults

FROM ${BASE_IMAGE}
ENV NODE_ENV=production \
    IDRA_API_HOST=0.0.0.0 \
    IDRA_API_PORT=8080 \
    IDRA_LOG_FORMAT=json
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/packages/core ./packages/core
COPY --from=build /src/packages/connectors ./packages/connectors
COPY --from=build /src/apps/api-server ./apps/api-server
# The node image's unprivileged user `node`, by number: a runtime checks runAsNonRoot without the image's /etc/passwd.
USER 1000:1000
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.IDRA_API_PORT + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "apps/api-server/src/main.ts"]
