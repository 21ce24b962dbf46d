import { describe, expect, it } from 'vitest';
import { sleep } from '@idra/core';
import { until } from '@idra/testkit';
import { useWorld, type Shot } from './world.ts';

// etcd and agent faults under concurrent writers, every cursor mode, three real agents (lease TTL 3 s).

describe('fault suite: etcd and agents', () => {
  const world = useWorld();

  it('etcd: one member down for 5 s changes nothing', async () => {
    const oneDown: Shot = async () => {
      const member = world().etcd.members[(await world().etcdLeader()) === 0 ? 1 : 0]!;
      await member.kill('SIGKILL');
      await sleep(5_000);
      await member.start();
      return { healedAt: Date.now() };
    };
    await world().scenario('etcd: one member down', 10_000, [oneDown], null);
  });

  it('etcd: the leader killed, a new one is elected; it rejoins', async () => {
    const leaderKilled: Shot = async () => {
      const leader = world().etcd.members[await world().etcdLeader()]!;
      await leader.kill('SIGKILL');
      await sleep(2_000);
      await leader.start();
      return { healedAt: Date.now() };
    };
    await world().scenario('etcd: leader killed', 10_000, [leaderKilled], null);
  });

  it('etcd: all members restarted', async () => {
    const allRestarted: Shot = async () => {
      await Promise.all(world().etcd.members.map((m) => m.kill('SIGKILL')));
      await Promise.all(world().etcd.members.map((m) => m.start()));
      return { healedAt: Date.now() };
    };
    await world().scenario('etcd: all members restarted', 15_000, [allRestarted], null);
  });

  it('etcd: quorum lost for 30 s pauses every sync (lease lost); quorum back resumes them', async () => {
    const quorumLost: Shot = async () => {
      const [a, b] = world().etcd.members;
      await Promise.all([a!.kill('SIGKILL'), b!.kill('SIGKILL')]);
      await sleep(30_000);
      await Promise.all([a!.start(), b!.start()]);
      return { healedAt: Date.now() };
    };
    await world().scenario('etcd: quorum lost for 30 s', 20_000, [quorumLost], 'lease lost: stopping every sync now');
  });

  it('agents: kill -9 of an agent with syncs; they resume on the others', async () => {
    const kill: Shot = async () => {
      const victim = await world().busyAgent();
      const killedAt = Date.now();
      await world().end(victim, 'SIGKILL');
      return { healedAt: killedAt, after: async () => void world().startAgent() };
    };
    await world().scenario('agent kill -9', 15_000, [kill], 'sync assigned to this agent');
  });

  it('agents: SIGSTOP longer than the lease; the syncs move; the resumed agent writes nothing for them', async () => {
    const freeze: Shot = async () => {
      const zombie = await world().busyAgent();
      const frozenAt = Date.now();
      zombie.signal('SIGSTOP');
      return {
        healedAt: frozenAt,
        after: async () => {
          zombie.signal('SIGCONT');
          await until('the resumed agent to notice its lease is gone', () => zombie.has('lease lost: stopping every sync now'), 15_000);
        },
      };
    };
    await world().scenario('agent SIGSTOP past the lease', 15_000, [freeze], 'sync assigned to this agent');
  });

  it('agents: SIGTERM during a batch finishes the batch, hands the syncs over and exits 0', async () => {
    let shutdownLog: Array<Record<string, unknown>> = [];
    const term: Shot = async () => {
      // A slow destination keeps batches in flight: the signal lands in the middle of some.
      world().proxies.pgDest.slow(300);
      await sleep(3_000);
      const agent = await world().busyAgent();
      const sentAt = Date.now();
      expect(await world().end(agent, 'SIGTERM')).toBe(0);
      world().proxies.pgDest.heal();
      shutdownLog = agent.lines.slice(agent.lines.findIndex((l) => String(l.msg).startsWith('shutting down')));
      return { healedAt: sentAt, after: async () => void world().startAgent() };
    };
    await world().scenario('agent SIGTERM during a batch', 15_000, [term], 'sync assigned to this agent');
    expect(shutdownLog.filter((l) => l.msg === 'batch committed').length, 'batches finished after SIGTERM').toBeGreaterThan(0);
  });
});
