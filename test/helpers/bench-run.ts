import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../scripts/stack/service-process.js';
import type { Teardown } from './nats.js';

// A benchmark (`dist/bench/<name>.js`) run to its end as a real process, as `npm run bench:<name>`
// runs it: its exit code and everything it printed, stdout and stderr interleaved as they came
// (its table and its progress lines). A test that ends early kills it.

export interface BenchRun {
  readonly code: number | null;
  readonly output: string;
}

export async function runBench(t: Teardown, name: string, args: readonly string[]) {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'dist/bench', `${name}.js`), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => child.kill());
  let output = '';
  for (const stream of [child.stdout, child.stderr])
    stream.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, output } satisfies BenchRun;
}
