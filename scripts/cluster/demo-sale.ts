import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { SALE_CATALOGUE_BUCKET } from '../../engine/protocol/catalogue.js';
import { configureSale, readSale, type SaleState, saleExists } from '../client/sale-admin.js';

// The rehearsal's demo sale, created as an operator creates any sale: PUT /v1/admin/sales/demo
// through a gateway, which has the pool place it on one of the three engines. Nothing pins it to
// a machine, so it is a sale like those the failover will move. Created once: on a later start it
// is read, not configured again (a PUT would reset its settings).

export const DEMO_SALE = 'demo';
const DEMO_SETTINGS = { name: 'Demo flash sale', stock: 100, perCustomerLimit: 2 } as const;

export interface DemoSale {
  readonly created: boolean;
  readonly sale: SaleState;
  /** The engine the catalogue names for it (`machine-<n>`), or null if it can't be read. */
  readonly engineId: string | null;
}

/** The engine a sale was placed on, from the catalogue every gateway reads. */
export async function placementOf(nc: NatsConnection, saleId: string): Promise<string | null> {
  const catalogue = await new Kvm(nc).open(SALE_CATALOGUE_BUCKET);
  const entry = await catalogue.get(saleId);
  if (entry === null || entry.operation !== 'PUT') return null;
  return entry.json<{ engineId: string }>().engineId;
}

export async function ensureDemoSale(
  nc: NatsConnection,
  gatewayUrl: string,
  adminToken: string,
): Promise<DemoSale> {
  // A 503 (the catalogue not readable yet on a busy machine) is not an answer: asked again.
  const created =
    !(await saleExists(gatewayUrl, DEMO_SALE)) &&
    (await configureSale(gatewayUrl, adminToken, DEMO_SALE, DEMO_SETTINGS));
  return {
    created,
    sale: await readSale(gatewayUrl, DEMO_SALE),
    engineId: await placementOf(nc, DEMO_SALE),
  };
}
