import { randomBytes } from 'node:crypto';

// The carrier's book of shipments, keyed by Idempotency-Key, and the counters a test reads to
// prove "exactly one shipment per order". Creations are also counted per orderId: were a client
// to send a different key for the same order, the count would show it.

export interface ShipmentRequest {
  readonly orderId: string;
  readonly saleId: string;
  readonly customerId: string;
  readonly quantity: number;
}

export interface Shipment extends ShipmentRequest {
  readonly trackingId: string;
}

export class ShipmentBook {
  private readonly byKey = new Map<string, Shipment>();
  private readonly createdByOrder = new Map<string, number>();
  private shipmentsCreated = 0;
  private trackingSerial = 0;
  /** Tracking ids stay unique across resets and restarts of the carrier. */
  private readonly trackingPrefix = `TRK-${randomBytes(3).toString('hex')}`;

  /** The key's shipment: the one made by an earlier call, else a new one. */
  ship(key: string, request: ShipmentRequest): { shipment: Shipment; created: boolean } {
    const existing = this.byKey.get(key);
    if (existing !== undefined) return { shipment: existing, created: false };
    this.trackingSerial += 1;
    const shipment = { ...request, trackingId: `${this.trackingPrefix}-${this.trackingSerial}` };
    this.byKey.set(key, shipment);
    this.shipmentsCreated += 1;
    this.createdByOrder.set(request.orderId, (this.createdByOrder.get(request.orderId) ?? 0) + 1);
    return { shipment, created: true };
  }

  get total(): number {
    return this.shipmentsCreated;
  }

  /** Shipments created per orderId. */
  countsByOrder(): Record<string, number> {
    return Object.fromEntries(this.createdByOrder);
  }

  clear(): void {
    this.byKey.clear();
    this.createdByOrder.clear();
    this.shipmentsCreated = 0;
  }
}
