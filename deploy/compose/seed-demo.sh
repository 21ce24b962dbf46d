#!/bin/sh
# One-shot demo seed: logs in to the API as admin and imports two data sources (the demo PostgreSQL
# and MariaDB) and two syncs between them. Idempotent: the import overwrites what it created before.
set -eu
api=${IDRA_API_URL:-http://api-server:8080}

login=$(curl -fsS -X POST "$api/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"${IDRA_ADMIN_PASSWORD}\"}")
token=$(printf '%s' "$login" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
if [ -z "$token" ]; then
  echo "seed: login as admin failed: $login" >&2
  exit 1
fi

curl -fsS -X POST "$api/api/v1/import?overwrite=true" \
  -H "authorization: Bearer $token" -H 'content-type: application/json' --data-binary @- <<JSON
{
  "dataSources": [
    { "id": "shop", "connector": "postgres",
      "connection": { "host": "postgres", "port": 5432, "database": "shop", "user": "shop", "password": "${DEMO_PG_PASSWORD}" } },
    { "id": "dw", "connector": "mysql",
      "connection": { "host": "mariadb", "port": 3306, "database": "dw", "user": "idra", "password": "${DEMO_MYSQL_PASSWORD}" } }
  ],
  "syncs": [
    { "id": "orders-by-id", "name": "New orders (id cursor, append)",
      "source": { "connector": "postgres", "dataSourceId": "shop", "table": "orders" },
      "destination": { "connector": "mysql", "dataSourceId": "dw", "table": "orders_copy" },
      "mode": "id", "cursorColumn": "id", "keyColumns": ["id"], "writeMode": "insert",
      "batchSize": 2000, "pollIntervalMs": "2s" },
    { "id": "orders-changes", "name": "Changed orders (timestamp cursor + id, upsert)",
      "source": { "connector": "postgres", "dataSourceId": "shop", "table": "orders" },
      "destination": { "connector": "mysql", "dataSourceId": "dw", "table": "orders_latest" },
      "mode": "timestamp", "cursorColumn": "updated_at", "tiebreakerColumn": "id", "keyColumns": ["id"],
      "writeMode": "upsert", "batchSize": 2000, "pollIntervalMs": "2s", "delayMs": "1s" }
  ]
}
JSON
echo
echo "seed: demo data sources and syncs imported"
