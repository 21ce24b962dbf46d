# syntax=docker/dockerfile:1
# idra-web-ui: docker build -f deploy/docker/web-ui.Dockerfile -t idra-web-ui .   (context: the repository root)
# BASE_IMAGE builds the bundle (any image with Node 24 and npm); RUNTIME_IMAGE serves it (Debian 12: its
# nginx and envsubst come from Debian's packages). The image test builds on local ones: deploy/images.
ARG BASE_IMAGE=node:24-bookworm-slim
ARG RUNTIME_IMAGE=debian:bookworm-slim

# Build: the Vite static bundle (apps/web-ui/dist).
FROM ${BASE_IMAGE} AS build
RUN npm install -g pnpm@10.34.9
WORKDIR /src
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
# No install scripts: a static bundle needs no native addon (better-sqlite3 would need a compiler here).
RUN pnpm fetch --ignore-scripts
COPY . .
RUN pnpm install --offline --frozen-lockfile --ignore-scripts --filter @idra/web-ui... \
 && pnpm --filter @idra/web-ui build

# Serve: nginx as an unprivileged user (uid 101) on 8080, /api/ proxied to the API server.
FROM ${RUNTIME_IMAGE}
RUN apt-get update && apt-get install -y --no-install-recommends nginx-light gettext-base wget \
 && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled /etc/nginx/conf.d/* /var/www/html \
 && groupadd --system --gid 101 nginx \
 && useradd --system --uid 101 --gid nginx --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin nginx \
 && chown nginx:nginx /etc/nginx/conf.d
ENV IDRA_API_UPSTREAM=api-server:8080 \
    IDRA_WEB_PORT=8080
COPY deploy/docker/web-ui/nginx.conf /etc/nginx/nginx.conf
# The entrypoint renders templates/*.template into conf.d with the environment's IDRA_* variables.
COPY deploy/docker/web-ui/default.conf.template /etc/nginx/templates/default.conf.template
COPY deploy/docker/web-ui/entrypoint.sh /usr/local/bin/idra-web-ui
COPY --from=build /src/apps/web-ui/dist /usr/share/nginx/html
USER 101
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/usr/local/bin/idra-web-ui"]
