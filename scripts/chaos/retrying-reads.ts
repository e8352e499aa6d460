import { setTimeout as delay } from 'node:timers/promises';
import type { QueryReply } from '../../engine/protocol/index.js';
import type { EngineClient } from '../client/engine-client.js';
import type { ChaosNats } from './nats-link.js';

// The chaos run's reads of the engine (the settle wait's, the audit's): each query retried,
// bounded, once the run's NATS connection is up again.

/**
 * Attempts per read. The reads come right after the last round, whose kill may have been NATS:
 * the engine may still be re-subscribing ("no responders"), so a failed read is asked again.
 */
const READ_ATTEMPTS = 5;
const READ_RETRY_BASE_MS = 250;

/** Engine queries, each retried (bounded) once the run's connection is up. */
export class EngineReads {
  constructor(
    private readonly client: EngineClient,
    private readonly link: ChaosNats,
  ) {}

  async query(saleId: string, body: object): Promise<QueryReply> {
    for (let attempt = 1; ; attempt += 1) {
      await this.link.connected();
      try {
        return await this.client.query(saleId, body);
      } catch (error) {
        if (attempt >= READ_ATTEMPTS) throw error;
        await delay(READ_RETRY_BASE_MS * attempt);
      }
    }
  }
}
