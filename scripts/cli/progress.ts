import { performance } from 'node:perf_hooks';

// Progress of a long run on stderr, so stdout stays the report: a bar redrawn in place when
// stderr is a terminal, else (CI, a pipe, a file) a plain line now and then.

/** How often the bar is redrawn at most. */
const BAR_REDRAW_MS = 100;
/** How often a plain progress line is written when stderr is not a terminal. */
const LINE_INTERVAL_MS = 1_000;
const BAR_WIDTH_CHARS = 30;

export interface Progress {
  /** `done` of the total are finished. */
  update(done: number): void;
  /** Draws the final state and ends the line. */
  finish(): void;
}

export function startProgress(label: string, total: number): Progress {
  const stream = process.stderr;
  const started = performance.now();
  let done = 0;
  let drawnAt = Number.NEGATIVE_INFINITY;
  const describe = (): string => {
    const seconds = (performance.now() - started) / 1000;
    const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
    const rate = seconds > 0 ? Math.round(done / seconds) : 0;
    return `${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} ${percent}% ${rate.toLocaleString('en-US')}/s ${seconds.toFixed(1)} s`;
  };

  if (stream.isTTY) {
    const draw = (): void => {
      drawnAt = performance.now();
      const filled = total === 0 ? BAR_WIDTH_CHARS : Math.round((done / total) * BAR_WIDTH_CHARS);
      const bar = `${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH_CHARS - filled)}`;
      stream.write(`\r\x1b[2K${label} [${bar}] ${describe()}`);
    };
    draw();
    return {
      update(answered) {
        done = answered;
        if (performance.now() - drawnAt >= BAR_REDRAW_MS) draw();
      },
      finish() {
        draw();
        stream.write('\n');
      },
    };
  }

  const timer = setInterval(() => stream.write(`${label}: ${describe()}\n`), LINE_INTERVAL_MS);
  timer.unref();
  return {
    update(answered) {
      done = answered;
    },
    finish() {
      clearInterval(timer);
      stream.write(`${label}: ${describe()} (done)\n`);
    },
  };
}
