#!/bin/sh
# Renders each /etc/nginx/templates/*.template into /etc/nginx/conf.d with the IDRA_* variables of the
# environment (${IDRA_API_UPSTREAM}, ${IDRA_WEB_PORT}; nginx's own $variables are left alone), then
# runs nginx in the foreground as PID 1 (SIGTERM/SIGQUIT stop it).
set -eu
variables=$(env | sed -n 's/^\(IDRA_[A-Z0-9_]*\)=.*/${\1}/p' | tr '\n' ' ')
for template in /etc/nginx/templates/*.template; do
  envsubst "$variables" <"$template" >"/etc/nginx/conf.d/$(basename "$template" .template)"
done
exec nginx -e stderr -g 'daemon off;'
