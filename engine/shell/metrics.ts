import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { ENGINE_PHASES, type HealthReport } from './health.js';

// The engine's Prometheus metrics, served on their own small HTTP port (`GET /metrics`). Most are
// read from the live objects at scrape time, so the hot path pays nothing for them; only command
// outcomes are counted as they happen.

export const METRICS_PREFIX = 'flashsale_engine_';

/** What the metrics read at scrape time. */
export interface EngineGauges {
  mailboxCommands(): number;
  outboxBacklog(): number;
  outboxPublished(): number;
  outboxPublishFailures(): number;
  outboxWatermarkLsn(): number;
  walLastLsn(): number;
  walDurableLsn(): number;
  walFlushes(): number;
  salesLeased(): number;
}

export class EngineMetrics {
  readonly registry = new Registry();
  private readonly commands: Counter<'kind' | 'outcome'>;

  constructor(health: () => HealthReport) {
    collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    new Gauge({
      name: `${METRICS_PREFIX}state`,
      help: 'What the engine is doing: 1 for its state now (starting, standby, recovering, serving, degraded, stopping), 0 for the others',
      labelNames: ['state'],
      registers,
      collect() {
        const { state } = health();
        for (const name of [...ENGINE_PHASES, 'degraded'])
          this.set({ state: name }, name === state ? 1 : 0);
      },
    });
    new Gauge({
      name: `${METRICS_PREFIX}sales`,
      help: 'Sales by role: serving (answered here), standby (waiting for the lease), lapsed (lease not renewed)',
      labelNames: ['role'],
      registers,
      collect() {
        const report = health();
        this.set({ role: 'serving' }, report.serving.length);
        this.set({ role: 'standby' }, report.standby.length);
        this.set({ role: 'lapsed' }, report.lapsed.length);
      },
    });
    this.commands = new Counter({
      name: `${METRICS_PREFIX}requests_total`,
      help: 'Requests answered, by kind (command, query) and outcome (ok or the error code)',
      labelNames: ['kind', 'outcome'],
      registers: [this.registry],
    });
  }

  /** Registers the gauges once the objects they read exist (after recovery). */
  observe(gauges: EngineGauges): void {
    const registers = [this.registry];
    const live = (name: string, help: string, read: () => number) =>
      new Gauge({
        name: `${METRICS_PREFIX}${name}`,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    // Running totals kept by the objects themselves, exposed as counters at scrape time.
    const total = (name: string, help: string, read: () => number) =>
      new Counter({
        name: `${METRICS_PREFIX}${name}`,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    live('mailbox_commands', 'Requests waiting in the actor mailbox', gauges.mailboxCommands);
    live(
      'outbox_backlog',
      'Confirmed orders not yet acknowledged by JetStream ORDERS (alert when it grows)',
      gauges.outboxBacklog,
    );
    total(
      'outbox_published_total',
      'Outbox messages acknowledged by JetStream',
      gauges.outboxPublished,
    );
    total(
      'outbox_publish_failures_total',
      'Outbox publishes that failed and will be retried',
      gauges.outboxPublishFailures,
    );
    live(
      'outbox_watermark_lsn',
      'Every outbox message at or below this log position is in JetStream',
      gauges.outboxWatermarkLsn,
    );
    live('wal_last_lsn', 'Last log position appended', gauges.walLastLsn);
    live('wal_durable_lsn', 'Last log position on stable storage', gauges.walDurableLsn);
    total('wal_flushes_total', 'Group commits (write + fdatasync)', gauges.walFlushes);
    live('sales_leased', 'Sales this engine holds a valid lease for', gauges.salesLeased);
  }

  /** Counts one answered request; `reply` is the protocol reply about to be sent. */
  answered(kind: 'command' | 'query', reply: { ok: boolean; error?: { code: string } }): void {
    this.commands.inc({ kind, outcome: reply.ok ? 'ok' : (reply.error?.code ?? 'unknown') });
  }
}
