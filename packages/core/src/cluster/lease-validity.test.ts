import { describe, expect, it } from 'vitest';
import { LeaseValidity } from './agent-session.ts';

// The bookkeeping of AgentSession's lease, on explicit times (the session itself is tested against etcd,
// with faults, in cluster.test.ts and the fault suite): TTL 3 s, margin 0.5 s.
describe('lease validity', () => {
  it('an answer counts from the keepalive it answers, not from a later one sent while it was slow', () => {
    const v = new LeaseValidity(2500, 0);
    expect(v.validUntil).toBe(2500);
    v.fired(1000);
    v.fired(2000); // the first is not answered yet: keepalives are sent every second regardless
    v.answered(); // answers the one sent at 1000
    expect(v.validUntil).toBe(3500);
    v.answered(); // the one sent at 2000
    expect(v.validUntil).toBe(4500);
    // An answer with nothing sent (it cannot be matched) extends nothing.
    v.answered();
    expect(v.validUntil).toBe(4500);
  });

  it('a new keepalive stream forgets what the old one sent, and validity never moves back', () => {
    const v = new LeaseValidity(2500, 0);
    v.fired(1000);
    v.restarted(); // the stream broke: 1000 will not be answered
    v.fired(1800);
    v.answered();
    expect(v.validUntil).toBe(4300);
    v.fired(100); // a send time older than the validity already known
    v.answered();
    expect(v.validUntil).toBe(4300);
  });
});
