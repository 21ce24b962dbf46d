import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { connectEtcd, errorMessage } from '@idra/core';
import type { ClusterHealth, ClusterMember } from '@idra/api-client';
import { errors } from '../schemas.ts';

const MEMBER_TIMEOUT_MS = 3000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

/** `/cluster`: etcd members, the raft leader and each member's database size. */
export const clusterRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { etcd, etcdOptions, metrics } = app.idra;

  app.get(
    '/cluster',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['cluster'],
        summary: 'etcd cluster health: members, leader, DB size per member',
        response: { 200: Type.Ref('ClusterHealth'), ...errors(503) },
      },
    },
    async (): Promise<ClusterHealth> => {
      const { members } = await etcd.client.cluster.memberList({});
      // Each member answers for itself: one short-lived client per member's client URL.
      const probed = await Promise.all(
        members.map(async (m): Promise<ClusterMember & { leaderSeen: string | null }> => {
          const base = { id: m.ID, name: m.name, clientURLs: m.clientURLs, peerURLs: m.peerURLs };
          if (m.clientURLs.length === 0)
            return { ...base, isLeader: false, dbSize: null, dbSizeInUse: null, version: null, raftIndex: null, error: 'not started', leaderSeen: null };
          const conn = connectEtcd({ ...etcdOptions, endpoints: m.clientURLs, dialTimeoutMs: MEMBER_TIMEOUT_MS });
          try {
            const s = await withTimeout(conn.client.maintenance.status(), MEMBER_TIMEOUT_MS);
            const inUse = (s as { dbSizeInUse?: string }).dbSizeInUse;
            return {
              ...base,
              isLeader: s.leader === m.ID,
              dbSize: Number(s.dbSize),
              dbSizeInUse: inUse ? Number(inUse) : null,
              version: s.version,
              raftIndex: s.raftIndex,
              error: null,
              leaderSeen: s.leader,
            };
          } catch (err) {
            metrics.etcdErrors.inc({ where: 'cluster-member-status' });
            return { ...base, isLeader: false, dbSize: null, dbSizeInUse: null, version: null, raftIndex: null, error: errorMessage(err), leaderSeen: null };
          } finally {
            conn.close();
          }
        }),
      );
      const leaderId = probed.find((m) => m.isLeader)?.id ?? null;
      const answered = probed.filter((m) => m.error === null).length;
      return {
        healthy: leaderId !== null && answered > members.length / 2,
        leaderId,
        members: probed.map(({ leaderSeen: _, ...m }) => m),
        prefix: etcd.prefix,
      };
    },
  );
};
