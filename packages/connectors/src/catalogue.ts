import type { ConnectorKind, ConnectorSpec } from '@idra/core';
import { SQL_DIALECTS } from './sql/index.ts';
import { sqlSpec } from './sql/sql-spec.ts';
// The specs only: these modules import no driver (kafkajs, mongodb and the AWS SDK load with the connector itself).
import { httpSpec } from './http/http-options.ts';
import { kafkaSpec } from './kafka/kafka-options.ts';
import { mongodbSpec } from './mongodb/mongodb-options.ts';
import { s3Spec } from './s3/s3-options.ts';

/** What every connector of this package accepts (roles, endpoint fields, options), by kind: the API checks syncs against it and serves it. */
export const CONNECTOR_SPECS: Readonly<Record<ConnectorKind, ConnectorSpec>> = {
  postgres: sqlSpec(SQL_DIALECTS.postgres),
  mysql: sqlSpec(SQL_DIALECTS.mysql),
  sqlite: sqlSpec(SQL_DIALECTS.sqlite),
  mssql: sqlSpec(SQL_DIALECTS.mssql),
  mongodb: mongodbSpec,
  kafka: kafkaSpec,
  s3: s3Spec,
  http: httpSpec,
};
