import { Writable } from 'node:stream';
import { pino } from 'pino';
import t from 'tap';
import { RequestSummary } from '../gateway/request-summary.js';

// The gateway's summary line, in-process with a fake clock: what it counts, the quantiles it
// reads, and that an idle interval logs nothing.

function capture(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(text));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

const flushed = () => new Promise((resolve) => setImmediate(resolve));

t.test('one line per interval: counts, statuses, rate and quantiles', async (t) => {
  const { logger, lines } = capture();
  let now = 1_000_000;
  const summary = new RequestSummary(logger, 0, () => now);
  for (let i = 0; i < 98; i += 1) summary.record(201, 2);
  summary.record(409, 40);
  summary.record(503, 900);
  now += 4_000;
  summary.flush();
  await flushed();
  t.equal(lines.length, 1);
  const line = lines[0]!;
  t.match(line, { msg: 'requests summary', requests: 100, perSecond: 25, windowS: 4 });
  t.same(line.statuses, { '2xx': 98, '4xx': 1, '5xx': 1 });
  t.ok((line.p50Ms as number) >= 2 && (line.p50Ms as number) < 2.4, `p50 ${line.p50Ms} ≈ 2 ms`);
  t.ok((line.p99Ms as number) >= 40 && (line.p99Ms as number) < 48, `p99 ${line.p99Ms} ≈ 40 ms`);
  t.equal(line.maxMs, 900);
});

t.test('an interval without requests logs nothing, and counts start afresh', async (t) => {
  const { logger, lines } = capture();
  let now = 0;
  const summary = new RequestSummary(logger, 0, () => now);
  summary.record(200, 1);
  now += 1_000;
  summary.flush();
  now += 1_000;
  summary.flush();
  summary.record(200, 5);
  now += 1_000;
  summary.close();
  await flushed();
  t.equal(lines.length, 2, 'the empty interval said nothing');
  t.match(lines[1], { requests: 1, maxMs: 5, p50Ms: 5 }, 'only the new interval is counted');
});

t.test('a latency above every bucket is still counted, and read as the largest seen', async (t) => {
  const { logger, lines } = capture();
  const summary = new RequestSummary(logger, 0, () => 0);
  summary.record(200, 1e9);
  summary.flush();
  await flushed();
  t.match(lines[0], { requests: 1, p99Ms: 1e9, maxMs: 1e9 });
});
