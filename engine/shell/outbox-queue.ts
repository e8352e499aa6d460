// The outbox's queue of messages waiting to be sent: a ring buffer, so that taking from the front
// and putting back at the front are O(1). Array.shift/unshift move every element: draining a
// backlog of a million messages that way took the best part of a minute, and the backlog may be
// far larger (OUTBOX_BACKLOG_MAX).

/** Slots allocated at first and never shrunk below: a small backlog never reallocates. */
export const OUTBOX_QUEUE_SLOTS_MIN = 64;
/** The buffer halves once the queue fills at most this share of it, so a drained outage frees. */
const SHRINK_WHEN_FULL_SHARE = 1 / 4;

export class OutboxQueue<T> {
  private slots: (T | undefined)[] = new Array(OUTBOX_QUEUE_SLOTS_MIN);
  /** Index of the first item. */
  private head = 0;
  private count = 0;

  get length(): number {
    return this.count;
  }

  /** Appends at the back (the next message in LSN order). */
  pushBack(item: T): void {
    this.growIfFull();
    this.slots[this.slotOf(this.count)] = item;
    this.count += 1;
  }

  /** Puts an item back at the front (a message whose send failed goes out first on retry). */
  pushFront(item: T): void {
    this.growIfFull();
    this.head = this.slotOf(this.slots.length - 1);
    this.slots[this.head] = item;
    this.count += 1;
  }

  /** Takes the first item, or undefined when empty. */
  takeFront(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.slots[this.head];
    // Cleared so that a sent message can be collected while the slot waits for reuse.
    this.slots[this.head] = undefined;
    this.head = this.slotOf(1);
    this.count -= 1;
    this.shrinkIfSparse();
    return item;
  }

  /** The slot `offset` places after the head, wrapping around. */
  private slotOf(offset: number): number {
    return (this.head + offset) % this.slots.length;
  }

  private growIfFull(): void {
    if (this.count === this.slots.length) this.resize(this.slots.length * 2);
  }

  private shrinkIfSparse(): void {
    const half = this.slots.length / 2;
    if (half >= OUTBOX_QUEUE_SLOTS_MIN && this.count <= this.slots.length * SHRINK_WHEN_FULL_SHARE)
      this.resize(half);
  }

  /** Copies the items, in order, to the start of a buffer of `size` slots. */
  private resize(size: number): void {
    const slots: (T | undefined)[] = new Array(size);
    for (let i = 0; i < this.count; i += 1) slots[i] = this.slots[this.slotOf(i)];
    this.slots = slots;
    this.head = 0;
  }
}
