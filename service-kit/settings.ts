import { Type } from '@sinclair/typebox';

// The settings every service reads, declared once: each service's config schema spreads these in.

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const LogLevelSetting = Type.Union(
  LOG_LEVELS.map((level) => Type.Literal(level)),
  { default: 'info' },
);

/**
 * Copies JetStream keeps of each stream and KV bucket a service creates: 1 on one machine
 * (`npm start`), 3 in a cluster (each write then stored by a majority of nodes before it counts).
 */
export const JetStreamReplicasSetting = Type.Union(
  [Type.Literal(1), Type.Literal(3), Type.Literal(5)],
  {
    default: 1,
  },
);

/** One NATS URL, or several separated by commas (the servers of a cluster). */
export const NatsUrlSetting = Type.String({ default: 'nats://127.0.0.1:4222', minLength: 1 });

/** The servers of a NATS_URL, in order; refuses an empty item (`a,,b`). */
export function natsServers(natsUrl: string): string[] {
  const servers = natsUrl.split(',').map((server) => server.trim());
  if (servers.some((server) => server === ''))
    throw new Error(`NATS_URL: ${JSON.stringify(natsUrl)} has an empty server in its list`);
  return servers;
}
