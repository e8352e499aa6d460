import { type Static, Type } from '@sinclair/typebox';
import { SALE_ID_CHARS_MAX } from '../core/limits.js';
import type { ErrorReply } from './messages.js';
import { decoderOf } from './published.js';

// The sale catalogue and the engine pool (DESIGN.md, "Sales are placed, not configured").
//
// - KV `sale_catalogue`, one key per sale that exists, never expiring: the WAL it was placed on.
//   Created once (`create`: two racing PUTs place a sale once) — by the pool when a sale is
//   created through the API, or by the engine that serves it when it is pinned (ENGINE_SALES).
//   Gateways read it to tell a sale that was never created (SALE_NOT_FOUND) from one whose engine
//   does not answer (ENGINE_UNAVAILABLE).
// - KV `engine_pool`, one key per engine (its WAL's id), expiring unless renewed: who can take a
//   new sale, and how many it serves.
// - `pool.place`, request-reply to any engine of the pool (queue group): place a sale.

export const SALE_CATALOGUE_BUCKET = 'sale_catalogue';
export const ENGINE_POOL_BUCKET = 'engine_pool';
export const POOL_PLACE_SUBJECT = 'pool.place';
/** Engines answer `pool.place` as one queue group: each request is handled by one of them. */
export const POOL_QUEUE_GROUP = 'pool';

const id = (maxLength: number) => Type.String({ minLength: 1, maxLength });

export const CatalogueEntrySchema = Type.Object({
  saleId: id(SALE_ID_CHARS_MAX),
  /** The WAL whose engine serves the sale (identity.json's id): stable across restarts. */
  walId: id(128),
  engineId: id(128),
  /** Placed by an operator (ENGINE_SALES, or `walId` in the request), not by the pool's rule. */
  pinned: Type.Boolean(),
  /** ms since the epoch. */
  at: Type.Integer({ minimum: 0 }),
});
export type CatalogueEntry = Static<typeof CatalogueEntrySchema>;

export const PoolMemberSchema = Type.Object({
  walId: id(128),
  engineId: id(128),
  host: id(256),
  pid: Type.Integer({ minimum: 1 }),
  /** Sales it serves now: the pool places a new sale on the engine with the fewest. */
  sales: Type.Integer({ minimum: 0 }),
  /** How many more it takes (ENGINE_SALES_MAX − sales). */
  room: Type.Integer({ minimum: 0 }),
});
export type PoolMember = Static<typeof PoolMemberSchema>;

export const PlaceSaleRequestSchema = Type.Object(
  {
    type: Type.Literal('PlaceSale'),
    saleId: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
    /** Pin: place it on this WAL's engine (it must be in the pool). */
    walId: Type.Optional(id(128)),
  },
  { additionalProperties: false },
);
export type PlaceSaleRequest = Static<typeof PlaceSaleRequestSchema>;

export type PlaceSaleReply =
  | {
      readonly ok: true;
      readonly kind: 'placement';
      readonly entry: CatalogueEntry;
      /** False when the sale was placed before (this request changed nothing). */
      readonly created: boolean;
    }
  | ErrorReply;

export const decodeCatalogueEntry = decoderOf(CatalogueEntrySchema);
export const decodePoolMember = decoderOf(PoolMemberSchema);
export const decodePlaceSaleRequest = decoderOf(PlaceSaleRequestSchema);
