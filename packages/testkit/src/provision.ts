// Provisions (or finds cached) the server programs the connector tests need, and prints how long that took:
//   node packages/testkit/src/provision.ts
// The tests provision on first use as well; CI runs this first so that the time shows up on its own.
import { errorMessage } from '@idra/core';
import { provisionFerretdb, FERRETDB_VERSION } from './ferretdb.ts';
import { provisionKafka, KAFKA_VERSION } from './kafka.ts';
import { testkitCacheDir } from './internal/provision-cache.ts';

const steps = [
  { name: `Kafka ${KAFKA_VERSION} jars (Maven)`, run: provisionKafka, skip: 'IDRA_TEST_KAFKA_BROKERS' },
  { name: `FerretDB ${FERRETDB_VERSION} (go build)`, run: provisionFerretdb, skip: 'IDRA_TEST_MONGO_URL' },
] as const;

const started = performance.now();
console.log(`testkit cache: ${testkitCacheDir()}`);
// One after the other: both builds want both cores.
let failed = false;
for (const step of steps) {
  if (process.env[step.skip]) {
    console.log(`${step.name}: not needed (${step.skip} is set)`);
    continue;
  }
  try {
    const result = await step.run();
    console.log(`${step.name}: ${result.built ? 'built' : 'cached'} in ${(result.ms / 1000).toFixed(1)} s → ${result.path}`);
  } catch (error) {
    failed = true;
    console.error(`${step.name}: FAILED: ${errorMessage(error)}`);
  }
}
console.log(`provisioning took ${((performance.now() - started) / 1000).toFixed(1)} s`);
process.exitCode = failed ? 1 : 0;
