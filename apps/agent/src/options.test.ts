import { describe, expect, it } from 'vitest';
import { ConfigError } from '@idra/core';
import { parseAgentOptions, parseLabels } from './options.ts';

describe('agent placement options', () => {
  it('reads --labels and --max-syncs, the flags before the environment', () => {
    const opts = parseAgentOptions(['--etcd', 'http://e:2379', '--labels', 'region=eu, net=dc1', '--max-syncs', '20'], { IDRA_AGENT_LABELS: 'region=us' });
    expect(opts).toMatchObject({ labels: { region: 'eu', net: 'dc1' }, maxSyncs: 20 });
    expect(parseAgentOptions([], { IDRA_AGENT_LABELS: 'zone=a', IDRA_AGENT_MAX_SYNCS: '' })).toMatchObject({ labels: { zone: 'a' }, maxSyncs: undefined });
    expect(parseAgentOptions([], {})).toMatchObject({ labels: {}, maxSyncs: undefined });
  });

  it('refuses a malformed label or capacity, naming the option and what is wrong', () => {
    const problem = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return err instanceof ConfigError ? err.issues.map((i) => `${i.path}: ${i.message}`) : err;
      }
      return 'accepted';
    };
    expect(problem(() => parseLabels('region'))).toEqual(["--labels: 'region' is not name=value"]);
    expect(problem(() => parseLabels('region=eu,region=us'))).toEqual(['--labels: label region is given twice']);
    expect(problem(() => parseLabels('re gion=eu'))).toEqual([expect.stringMatching(/^--labels: label name 're gion' must be/)]);
    expect(problem(() => parseLabels('region=e/u'))).toEqual([expect.stringMatching(/^--labels: label value 'e\/u' of region must be/)]);
    expect(problem(() => parseAgentOptions(['--max-syncs', 'many'], {}))).toEqual(['--max-syncs: must be a whole number of syncs, 0 or more (got "many")']);
  });
});
