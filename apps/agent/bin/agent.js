// The agent's entry (apps/agent/bin/idra-agent runs it): Node's compile cache is turned on before the
// agent's modules load, hence the dynamic import; a restarted agent starts its syncs sooner.
import { enableIdraCompileCache } from '@idra/core/compile-cache';

enableIdraCompileCache();
await import('../src/main.ts');
