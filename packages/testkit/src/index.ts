// Throwaway real servers (PostgreSQL, MariaDB, etcd, Kafka, FerretDB, S3) for tests, on free ports in temp dirs.
import type {} from './provided-context.ts';

export { createDatabase, createPostgresRole, type TestDatabase, type TestRole } from './create-database.ts';
export { TestServerStartError, type TestServerKind } from './errors.ts';
export { kafkaForTests, mongoForTests, mongoReplicaSetUrl, s3ForTests, type S3Address, type ServerForTests } from './connector-servers.ts';
export {
  DEPLOY_TOOLS,
  KUBERNETES_VERSION,
  findHadolint,
  findPromtool,
  findTool,
  kubeconformSchemaLocation,
  promtoolCheckMetrics,
  provisionDeployTool,
  provisionHadolint,
  provisionKubernetesValidate,
  provisionPodmanCompose,
  type DeployTool,
} from './deploy-tools.ts';
export { GO_TOOLCHAIN, downloadGoToolchain, goProxyUrl, provisionGo, type GoToolchain } from './go-toolchain.ts';
export { FERRETDB_VERSION, provisionFerretdb, startFerretdb, type MongoServer } from './ferretdb.ts';
export { KAFKA_VERSION, provisionKafka, startKafka, type KafkaServer } from './kafka.ts';
export { testkitCacheDir, type ProvisionResult } from './internal/provision-cache.ts';
export { startS3, type S3Server } from './s3.ts';
export { etcdMemberArgs, etcdMetric, findEtcd, probeEtcdHealth, startEtcd, type EtcdMember, type EtcdServer, type StartEtcdOptions } from './etcd.ts';
export { startFaultProxy, type FaultMode, type FaultProxy } from './fault-proxy.ts';
export { freePort } from './free-port.ts';
export { startMariadb, type MariadbServer, type StartMariadbOptions } from './mariadb.ts';
export { startPostgres, type PostgresServer, type StartPostgresOptions } from './postgres.ts';
export { tempDir } from './temp-dir.ts';
export { until } from './until.ts';
export { SpawnedProcess, spawnUntilReady, type SpawnOptions } from './spawn.ts';
export { logSchemaViolation, topLevelKeys } from './log-schema.ts';
