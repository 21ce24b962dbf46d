import { useQuery } from '@tanstack/react-query';
import { useClient } from '../../api/client-context.tsx';

/** Query keys of the notifications screen. */
export const notificationKeys = {
  channels: ['notifications', 'channels'] as const,
  rules: ['notifications', 'rules'] as const,
  incidents: ['notifications', 'incidents'] as const,
  deliveries: ['notifications', 'deliveries'] as const,
};

/** The leader sends within a second or two: the log and incidents are polled at that pace. */
const POLL = 5_000;

export function useChannels(enabled: boolean) {
  const client = useClient();
  return useQuery({ queryKey: notificationKeys.channels, queryFn: () => client.notifications.channels(), enabled });
}

export function useRules(enabled: boolean) {
  const client = useClient();
  return useQuery({ queryKey: notificationKeys.rules, queryFn: () => client.notifications.rules(), enabled });
}

export function useIncidents() {
  const client = useClient();
  return useQuery({ queryKey: notificationKeys.incidents, queryFn: () => client.notifications.incidents(), refetchInterval: POLL });
}

export function useDeliveries() {
  const client = useClient();
  return useQuery({ queryKey: notificationKeys.deliveries, queryFn: () => client.notifications.deliveries({ limit: 100 }), refetchInterval: POLL });
}
