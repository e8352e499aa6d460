// How many deliveries one agent holds and works on. A delivery is held from the moment a pull
// brings it until it is settled; it works while it holds one of `concurrency` slots. One waiting
// for an engine that doesn't answer leaves its slot to others meanwhile, and queues for one again
// when it goes on, so that one engine's absence doesn't stop the shipments of the others; at most
// `engineWaitersMax` do so on top of the slots. A message a pull brings while the slots are full
// queues the same way. In all, an agent holds at most `concurrency + engineWaitersMax`.

export class DeliverySlots {
  private held = 0;
  private waitingForEngine = 0;
  /** Deliveries held, waiting for a slot in order: back from an engine wait, or just pulled. */
  private readonly queue: (() => void)[] = [];
  private whenEmpty: (() => void) | null = null;
  /** The puller, waiting for a slot to come free. */
  private roomWaiter: (() => void) | null = null;

  constructor(
    private readonly concurrency: number,
    private readonly engineWaitersMax: number,
  ) {
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new Error(`concurrency must be a whole number ≥ 1, not ${concurrency}`);
    if (!Number.isInteger(engineWaitersMax) || engineWaitersMax < 0)
      throw new Error(`engineWaitersMax must be a whole number ≥ 0, not ${engineWaitersMax}`);
  }

  /** Deliveries in hand, settled or not: what the `deliveries_inflight` gauge shows. */
  get inHand(): number {
    return this.held;
  }

  /** Deliveries in hand waiting for an engine that doesn't answer: they hold no slot. */
  get waitingForAnEngine(): number {
    return this.waitingForEngine;
  }

  /** Deliveries holding a slot: at most `concurrency`. */
  get working(): number {
    return this.held - this.waitingForEngine - this.queue.length;
  }

  /** Messages the agent may take now: free slots, within the bound on deliveries held. */
  room(): number {
    if (this.queue.length > 0) return 0;
    const holdable = this.concurrency + this.engineWaitersMax - this.held;
    return Math.min(this.concurrency - this.working, holdable);
  }

  /** A pulled message is in hand: resolves once it holds a slot. */
  arrived(): Promise<void> {
    // A pull asks for room() messages at most, which the bound on deliveries held allows.
    if (this.held >= this.concurrency + this.engineWaitersMax)
      throw new Error(`a message arrived with ${this.held} deliveries in hand already`);
    this.held += 1;
    return this.take();
  }

  /** A delivery is settled: its slot goes to the queue first, then to the puller. */
  settled(): void {
    if (this.held - this.waitingForEngine - this.queue.length <= 0)
      throw new Error('a delivery settled without a slot');
    this.held -= 1;
    this.released();
    if (this.held === 0) this.wakeWhenEmpty();
  }

  /** A delivery starts waiting for an engine: its slot is free meanwhile. */
  engineWaitStarted(): void {
    this.waitingForEngine += 1;
    this.released();
  }

  /** Its wait is over: resolves once it holds a slot again. */
  engineWaitEnded(): Promise<void> {
    if (this.waitingForEngine <= 0) throw new Error('an engine wait ended that never started');
    this.waitingForEngine -= 1;
    return this.take();
  }

  /** Resolves once a slot may have come free, or `wake` is called. One waiter: the puller. */
  whenRoom(): Promise<void> {
    if (this.roomWaiter !== null) throw new Error('someone waits for room already');
    return new Promise((resolve) => {
      this.roomWaiter = resolve;
    });
  }

  /** Ends the wait for room at once (the agent is stopping: the puller must see it). */
  wake(): void {
    const waiter = this.roomWaiter;
    this.roomWaiter = null;
    waiter?.();
  }

  /** Resolves once no delivery is in hand (at once if none is). */
  empty(): Promise<void> {
    if (this.held === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const previous = this.whenEmpty;
      this.whenEmpty = () => {
        previous?.();
        resolve();
      };
    });
  }

  /** Resolves once the delivery holds a slot: at once if one is free and nobody queues for one. */
  private take(): Promise<void> {
    return new Promise((resolve) => {
      this.queue.push(resolve);
      this.released();
    });
  }

  /** A slot may be free: the queue takes it first, in order, then the puller may fetch. */
  private released(): void {
    // `working` counts the queue out: admitting the head (shift) makes it one more working.
    while (this.queue.length > 0 && this.working < this.concurrency) this.queue.shift()?.();
    this.wake();
  }

  private wakeWhenEmpty(): void {
    const wake = this.whenEmpty;
    this.whenEmpty = null;
    wake?.();
  }
}
