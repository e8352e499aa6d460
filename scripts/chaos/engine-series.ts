import { EngineProcess, type EngineProcessOptions } from '../stack/engine-process.js';

/** The engines of a run, each on the same WAL after the last; all killed when the run ends. */
export class EngineSeries {
  private readonly running = new Set<EngineProcess>();

  constructor(
    private readonly options: EngineProcessOptions,
    private readonly signal: AbortSignal | undefined,
  ) {}

  /** A new engine, once it serves. Refuses after an abort, so none outlives the run. */
  async start(): Promise<EngineProcess> {
    this.signal?.throwIfAborted();
    const engine = EngineProcess.spawn(this.options);
    this.running.add(engine);
    void engine.exited.then(() => this.running.delete(engine));
    await engine.serving();
    return engine;
  }

  async stopAll(signal: NodeJS.Signals): Promise<void> {
    await Promise.all([...this.running].map((engine) => engine.kill(signal)));
  }
}
