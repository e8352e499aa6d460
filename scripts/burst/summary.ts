import { formatCount, formatMs, formatTable } from '../cli/text-table.js';
import { summarizeLatencies } from '../client/latency-stats.js';
import type { BurstTally } from './tally.js';

// The burst's summary table: requests, what came back, units sold against the stock, the largest
// purchase against the cap, and latency percentiles.

export interface BurstSetting {
  readonly saleId: string;
  readonly stock: number;
  readonly perCustomerLimit: number;
  /** Units the sale had sold before this run (0 for a fresh sale). */
  readonly soldBefore: number;
  readonly customers: number;
  readonly concurrency: number;
  readonly gateways: number;
}

export function formatBurstSummary(
  setting: BurstSetting,
  tally: BurstTally,
  latenciesMs: ArrayLike<number>,
  elapsedMs: number,
): string {
  const latency = summarizeLatencies(latenciesMs);
  const seconds = elapsedMs / 1000;
  const failed = tally.failures.reduce((sum, [, count]) => sum + count, 0);
  const largest = Math.max(0, ...tally.unitsByCustomer.values());
  const replayed = tally.accepted.filter((order) => order.status !== 201).length;
  const rows: string[][] = [
    [
      'requests',
      formatCount(tally.requests),
      `${formatCount(setting.customers)} customers, ${formatCount(setting.concurrency)} concurrent, ` +
        `${setting.gateways} gateway(s); ${seconds.toFixed(2)} s, ` +
        `${formatCount(Math.round(tally.requests / seconds))} req/s`,
    ],
    [
      'accepted (201)',
      formatCount(tally.accepted.length - replayed),
      `${formatCount(tally.acceptedUnits)} units`,
    ],
  ];
  if (replayed > 0)
    rows.push(['replayed (200)', formatCount(replayed), 'unexpected: keys are fresh']);
  for (const [code, count] of tally.rejections) rows.push([code, formatCount(count), 'rejected']);
  rows.push([
    'other / failed',
    formatCount(failed),
    tally.failures.map(([reason, count]) => `${reason}: ${formatCount(count)}`).join(', '),
  ]);
  rows.push([
    'units sold',
    `${formatCount(tally.acceptedUnits)} of ${formatCount(setting.stock - setting.soldBefore)}`,
    setting.soldBefore === 0
      ? `stock of sale ${setting.saleId}`
      : `left in ${setting.saleId} at the start; ${formatCount(setting.soldBefore)} of its ` +
        `${formatCount(setting.stock)} were sold before this run`,
  ]);
  rows.push([
    'max units per customer',
    `${largest} of ${setting.perCustomerLimit}`,
    `limit; ${formatCount(tally.unitsByCustomer.size)} customers bought`,
  ]);
  rows.push(['latency p50', formatMs(latency.p50Ms), 'request sent → reply read']);
  rows.push(['latency p95', formatMs(latency.p95Ms), '']);
  rows.push(['latency p99', formatMs(latency.p99Ms), `max ${formatMs(latency.maxMs)}`]);
  return formatTable(['burst', 'value', 'note'], rows);
}
