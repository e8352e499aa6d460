import { formatMachineLossReport, type MachineLossReport } from './machine-report.js';
import { runMachineLoss } from './machine-run.js';

// What `npm run chaos -- --machine-loss` does once its command line is read: the rounds, a line
// each, then the report; exit code 1 on any breach (or a run that failed), 0 otherwise.

export interface MachineLossMainOptions {
  readonly rounds: number;
  readonly seed: number;
  readonly customersPerRound: number;
  readonly signal: AbortSignal;
  /** The exit code for a run ended by a signal (130 for SIGINT, 143 for SIGTERM). */
  readonly exitOnSignal: () => number;
}

export async function machineLossMain(options: MachineLossMainOptions): Promise<void> {
  const { rounds, seed } = options;
  console.log(
    `chaos: ${rounds} machine-loss rounds on the cluster rehearsal, seed ${seed} ` +
      `(repeat the plan with --seed ${seed})`,
  );
  let report: MachineLossReport;
  try {
    report = await runMachineLoss({
      rounds,
      seed,
      customersPerRound: options.customersPerRound,
      log: (line) => console.log(line),
      signal: options.signal,
    });
  } catch (error) {
    console.error(`machine-loss run failed: ${(error as Error).stack ?? error}`);
    // Whatever the rounds left running (a client's retries) must not keep the process alive.
    process.exit(options.signal.aborted ? options.exitOnSignal() : 1);
  }
  console.log(formatMachineLossReport(report));
  process.exitCode = report.breaches.length === 0 ? 0 : 1;
}
