import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { findExecutable } from './internal/executables.ts';
import { provisionOnce, runBuild, testkitCacheDir, type ProvisionResult } from './internal/provision-cache.ts';
import { runToCompletion, ServerProcess, inWorkDir, serverControls } from './internal/server-process.ts';
import { freePort } from './free-port.ts';

/** The Apache Kafka release run by {@link startKafka} (its Maven artifacts, on the machine's Java 17). */
export const KAFKA_VERSION = '4.1.1';

// The broker and its dependencies, plus a logging backend so that the broker's log says something.
const POM = `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>idra.testkit</groupId>
  <artifactId>kafka-broker</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${KAFKA_VERSION}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-simple</artifactId><version>1.7.36</version></dependency>
  </dependencies>
</project>
`;

/** Fetches the broker's jars with Maven into the testkit cache unless they are there; returns their directory. */
export async function provisionKafka(): Promise<ProvisionResult> {
  const mvn = findExecutable('mvn', 'maven');
  return provisionOnce(join(testkitCacheDir(), `kafka-${KAFKA_VERSION}`), async (staging) => {
    await writeFile(join(staging, 'pom.xml'), POM);
    await runBuild({
      server: 'kafka',
      command: mvn,
      args: [
        '-B',
        '-q',
        '-f',
        join(staging, 'pom.xml'),
        'dependency:copy-dependencies',
        `-DoutputDirectory=${join(staging, 'libs')}`,
        '-DincludeScope=runtime',
      ],
      cwd: staging,
      logFile: join(staging, 'maven.log'),
    });
  });
}

/** A running throwaway Kafka broker (KRaft, one node that is broker and controller). */
export interface KafkaServer {
  /** `['127.0.0.1:<port>']`. */
  brokers: string[];
  /** Stops the broker (SIGKILL unless told otherwise); its data and ports stay for `start()`. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** SIGSTOP: the server stops answering, its connections stay open (a hung server), until `resume()`. */
  pause(): void;
  resume(): void;
  /** (Re)starts the broker on its data dir and ports; resolves once it serves metadata. */
  start(): Promise<void>;
  readonly running: boolean;
  /** Stops the broker and removes its temp dir. */
  stop(): Promise<void>;
}

function serverProperties(port: number, controllerPort: number, dataDir: string): string {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${dataDir}`,
    'num.partitions=1',
    // Topics exist only when someone creates them: the connectors' createTopic option is what is tested.
    'auto.create.topics.enable=false',
    'offsets.topic.replication.factor=1',
    // One partition (not 50) for consumer group offsets: created in a moment when the first group commits.
    'offsets.topic.num.partitions=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    '',
  ].join('\n');
}

async function probe(brokers: string[]): Promise<void> {
  const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING, connectionTimeout: 1_000, retry: { retries: 0 } }).admin();
  try {
    await admin.connect();
    await admin.listTopics();
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** A short-lived test JVM with the broker's jars: quick startup matters more than peak speed. */
function jvmArgs(home: string): string[] {
  return ['-Xms128m', '-Xmx512m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Djava.awt.headless=true', '-cp', join(home, 'libs', '*')];
}

/**
 * Formats the KRaft storage of `config` for `clusterId`. The id is passed as `--cluster-id=<id>`:
 * a random base64url id starts with '-' once in 64, and as a separate argument it would be read as
 * an option (the broker then failed to start with "--cluster-id: expected one argument").
 */
export async function formatKafkaStorage(java: string, home: string, workDir: string, config: string, clusterId: string): Promise<void> {
  await runToCompletion({
    server: 'kafka',
    logFile: join(workDir, 'kafka.log'),
    cwd: workDir,
    command: java,
    args: [...jvmArgs(home), 'kafka.tools.StorageTool', 'format', `--cluster-id=${clusterId}`, '-c', config],
  });
}

/** Starts a throwaway Kafka broker on free ports (provisioning its jars on first use) and resolves once it serves requests. */
export async function startKafka(): Promise<KafkaServer> {
  const java = findExecutable('java', 'openjdk-17-jre-headless');
  const { path: home } = await provisionKafka();
  return inWorkDir('idra-kafka-', async (workDir) => {
    const port = await freePort();
    const controllerPort = await freePort();
    const config = join(workDir, 'server.properties');
    await writeFile(config, serverProperties(port, controllerPort, join(workDir, 'data')));
    const jvm = jvmArgs(home);
    const launch = { server: 'kafka', logFile: join(workDir, 'kafka.log'), cwd: workDir } as const;
    await formatKafkaStorage(java, home, workDir, config, randomBytes(16).toString('base64url'));
    const brokers = [`127.0.0.1:${port}`];
    const server = new ServerProcess({
      ...launch,
      command: java,
      args: [...jvm, 'kafka.Kafka', config],
      stopSignal: 'SIGTERM',
      probe: () => probe(brokers),
      // A JVM on two busy cores: 10-20 s is usual.
      startTimeoutMs: 120_000,
    });
    await server.start();
    return Object.assign(serverControls(server, workDir, 'SIGKILL'), {
      brokers,
    });
  });
}
