# syntax=docker/dockerfile:1
# idra-web-ui: docker build -f deploy/docker/web-ui.Dockerfile -t idra-web-ui .   (context: the repository root)
ARG NODE_IMAGE=node:24-bookworm-slim
ARG NGINX_IMAGE=nginxinc/nginx-unprivileged:1.27-alpine

# Build: the Vite static bundle (apps/web-ui/dist).
FROM ${NODE_IMAGE} AS build
RUN npm install -g pnpm@10.34.9
WORKDIR /src
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
RUN pnpm fetch
COPY . .
RUN pnpm install --offline --frozen-lockfile --filter @idra/web-ui... \
 && pnpm --filter @idra/web-ui build

# Serve: nginx as an unprivileged user (uid 101) on 8080, /api/ proxied to the API server.
FROM ${NGINX_IMAGE}
ENV IDRA_API_UPSTREAM=api-server:8080 \
    IDRA_WEB_PORT=8080
# The image's entrypoint renders templates/*.template into conf.d with these variables.
COPY deploy/docker/web-ui/default.conf.template /etc/nginx/templates/default.conf.template
COPY --from=build /src/apps/web-ui/dist /usr/share/nginx/html
USER 101
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/healthz"]
