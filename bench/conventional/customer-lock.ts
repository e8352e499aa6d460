import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import type { RedisConnection } from './redis-connection.js';

// The conventional design's mutual exclusion: one Redis lock per customer:sale (the "product"),
// taken with `SET key token NX PX ttl` and released only by its holder, with a compare-and-delete
// script, so a request whose lock expired can't release the next holder's. While it holds the
// lock, a request is the only one deciding for that customer in that sale, which is what makes
// the cap check inside it correct.

/** Pause between two attempts at a busy lock; jittered so waiting requests don't march in step. */
const LOCK_RETRY_DELAY_MS_MIN = 2;
const LOCK_RETRY_DELAY_MS_MAX = 10;
/**
 * Time kept in hand before the TTL: a holder commits only while its lock still has this much
 * left (Redlock's validity check), so a commit can't run on after the lock has expired.
 */
export const LOCK_VALIDITY_MARGIN_MS = 500;

const RELEASE_SCRIPT = [
  "if redis.call('get', KEYS[1]) == ARGV[1] then",
  "  return redis.call('del', KEYS[1])",
  'else return 0 end',
].join('\n');

export interface HeldLock {
  /** True while the lock has at least the validity margin left before it expires. */
  stillValid(): boolean;
  /** Deletes the lock if this holder still owns it. */
  release(): Promise<void>;
}

export class CustomerLocks {
  private releaseSha: string | null = null;

  constructor(
    private readonly redis: RedisConnection,
    private readonly keyPrefix: string,
    private readonly ttlMs: number,
    private readonly waitMsMax: number,
  ) {}

  /** Loads the release script once, so each release sends its SHA rather than its text. */
  async prepare(): Promise<void> {
    this.releaseSha = await this.redis.scriptLoad(RELEASE_SCRIPT);
  }

  /** The lock, or null when another request still held it after `waitMsMax`. */
  async acquire(saleId: string, customerId: string): Promise<HeldLock | null> {
    const key = `${this.keyPrefix}:lock:${customerId}:${saleId}`;
    const token = randomUUID();
    const giveUpAt = performance.now() + this.waitMsMax;
    for (;;) {
      const takenAt = performance.now();
      const taken = await this.redis.set(key, token, {
        condition: 'NX',
        expiration: { type: 'PX', value: this.ttlMs },
      });
      if (taken !== null) return this.held(key, token, takenAt);
      if (performance.now() >= giveUpAt) return null;
      const jitter = Math.random() * (LOCK_RETRY_DELAY_MS_MAX - LOCK_RETRY_DELAY_MS_MIN);
      await delay(LOCK_RETRY_DELAY_MS_MIN + jitter);
    }
  }

  private held(key: string, token: string, takenAt: number): HeldLock {
    // Measured from before the SET was sent: the TTL may have started any time after that.
    const validUntil = takenAt + this.ttlMs - LOCK_VALIDITY_MARGIN_MS;
    return {
      stillValid: () => performance.now() < validUntil,
      release: () => this.release(key, token),
    };
  }

  private async release(key: string, token: string): Promise<void> {
    const options = { keys: [key], arguments: [token] };
    if (this.releaseSha !== null) {
      try {
        await this.redis.evalSha(this.releaseSha, options);
        return;
      } catch (error) {
        // Redis lost its script cache (a restart): send the script itself.
        if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error;
      }
    }
    await this.redis.eval(RELEASE_SCRIPT, options);
  }
}
