// The FIFO of append calls between `append()` and their fdatasync. Two cursors walk it: the next
// payload to encode into a batch, and the oldest call still waiting to be acknowledged. Records of
// one call may span several batches (a call bigger than one batch); it resolves with its last one.
import { FRAME_HEADER_BYTES } from './segment-format.js';

export interface PendingAppend {
  readonly payloads: readonly Uint8Array[];
  readonly lastLsn: number;
  readonly resolve: (lsn: number) => void;
  readonly reject: (error: Error) => void;
}

/** Compact the backing array once this many settled calls sit at its front. */
const SETTLED_SLOTS_COMPACT_MIN = 1024;

export class AppendQueue {
  #items: PendingAppend[] = [];
  #ackHead = 0;
  #encodeHead = 0;
  #encodePayload = 0;

  push(item: PendingAppend): void {
    this.#items.push(item);
  }

  /** Frame bytes of the next payload to encode, or 0 when everything is encoded. */
  nextFrameBytes(): number {
    const payload = this.#items[this.#encodeHead]?.payloads[this.#encodePayload];
    return payload === undefined ? 0 : FRAME_HEADER_BYTES + payload.length;
  }

  /** Hands out the next payload to encode and moves past it; call only after nextFrameBytes() > 0. */
  takePayload(): Uint8Array {
    const item = this.#items[this.#encodeHead]!;
    const payload = item.payloads[this.#encodePayload]!;
    this.#encodePayload++;
    if (this.#encodePayload === item.payloads.length) {
      this.#encodeHead++;
      this.#encodePayload = 0;
    }
    return payload;
  }

  /** Resolves, in order, every call whose last record is now durable. */
  settleThrough(durableLsn: number): void {
    while (this.#ackHead < this.#items.length) {
      const item = this.#items[this.#ackHead]!;
      if (item.lastLsn > durableLsn) break;
      this.#ackHead++;
      item.resolve(item.lastLsn);
    }
    this.#compact();
  }

  rejectAll(error: Error): void {
    const items = this.#items.slice(this.#ackHead);
    this.#items = [];
    this.#ackHead = 0;
    this.#encodeHead = 0;
    this.#encodePayload = 0;
    for (const item of items) item.reject(error);
  }

  #compact(): void {
    if (this.#ackHead === this.#items.length && this.#encodeHead === this.#ackHead) {
      this.#items = [];
      this.#ackHead = 0;
      this.#encodeHead = 0;
      return;
    }
    if (this.#ackHead < SETTLED_SLOTS_COMPACT_MIN || this.#ackHead * 2 < this.#items.length) return;
    if (this.#encodeHead < this.#ackHead)
      throw new Error('WAL bug: acknowledged an unencoded call');
    this.#items = this.#items.slice(this.#ackHead);
    this.#encodeHead -= this.#ackHead;
    this.#ackHead = 0;
  }
}
