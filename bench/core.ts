import {
  type Command,
  decide,
  type EngineState,
  type ErrorCode,
  type Event,
  evolve,
  initialState,
  orderCount,
} from '../engine/core/index.js';
import type { BenchRow } from './table.js';

// Throughput of the pure decision core: decide + evolve per order command, as the actor runs them.
// Customer ids and commands are built before the clock starts, so it times the core's work only.

export type PlaceOrder = Extract<Command, { type: 'PlaceOrder' }>;

export const BENCH_SALE_ID = 'flash-bench';
export const BENCH_AT_MS = Date.UTC(2026, 10, 25, 10, 0, 0);
/** Large enough that the open sale never sells out during a run. */
const OPEN_STOCK_UNITS = 1_000_000_000;
const SOLD_OUT_STOCK_UNITS = 100;
const PER_CUSTOMER_LIMIT_UNITS = 2;
const CUSTOMER_IDS = 1_000_000;
const RUN_COMMANDS = 1_000_000;
/** Enough for V8 to optimise every path the timed runs take. */
const WARMUP_COMMANDS = 200_000;
const TIMED_RUNS = 3;
/** One command in this many carries an Idempotency-Key (some clients send one, most don't). */
const KEYED_EVERY_COMMANDS = 4;
/** One command in this many is a gateway retry of a keyed command sent just before it. */
const RETRY_EVERY_COMMANDS = 100;
const RETRY_DISTANCE_COMMANDS = 3;
/** Picks customers so that some order twice and some a third time (LIMIT_EXCEEDED). */
const CUSTOMER_PICK_SEED = 0x5eed;

const hex = (value: number, digits: number): string =>
  (value >>> 0).toString(16).padStart(digits, '0').slice(-digits);

/** murmur3's finaliser: spreads an index over 32 bits, so ids look random but are reproducible. */
function mix32(value: number): number {
  let h = value >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A UUID-shaped id like a token's `sub`; the last group is the index, so ids never collide. */
export function customerId(index: number): string {
  const a = mix32(index);
  const b = mix32(index ^ 0x9e3779b9);
  return `${hex(a, 8)}-${hex(b, 4)}-4${hex(b >>> 16, 3)}-a${hex(a >>> 20, 3)}-${hex(index, 12)}`;
}

export function orderCommand(customer: string, key: string | null): PlaceOrder {
  return {
    type: 'PlaceOrder',
    saleId: BENCH_SALE_ID,
    customerId: customer,
    quantity: 1,
    idempotencyKey: key,
    requestHash: key === null ? null : 'q=1',
    at: BENCH_AT_MS,
  };
}

/** Commands for the customers `customerAt` names, every KEYED_EVERY_COMMANDS-th with a key. */
export function orderCommands(count: number, customerAt: (i: number) => string): PlaceOrder[] {
  const commands: PlaceOrder[] = [];
  for (let i = 0; i < count; i++) {
    const key = i % KEYED_EVERY_COMMANDS === 0 ? `idem-${hex(mix32(i), 8)}-${i}` : null;
    commands.push(orderCommand(customerAt(i), key));
  }
  return commands;
}

export function configureBenchSale(stock = OPEN_STOCK_UNITS): Command {
  return {
    type: 'ConfigureSale',
    saleId: BENCH_SALE_ID,
    name: 'Bench sale',
    stock,
    perCustomerLimit: PER_CUSTOMER_LIMIT_UNITS,
    startsAt: null,
    endsAt: null,
    at: BENCH_AT_MS,
  };
}

/** Decides and applies every command, as the actor does; all must be accepted. */
export function placeAll(state: EngineState, commands: readonly Command[]): Event[] {
  const events: Event[] = [];
  for (const command of commands) {
    const decision = decide(state, command);
    if (!decision.ok) throw new Error(`bench command refused: ${decision.rejection.message}`);
    for (const event of decision.events) {
      evolve(state, event);
      events.push(event);
    }
  }
  return events;
}

/** A state holding the bench sale: the actor's state just after the admin created it. */
export function stateWithBenchSale(stock = OPEN_STOCK_UNITS): EngineState {
  const state = initialState();
  placeAll(state, [configureBenchSale(stock)]);
  return state;
}

interface Tally {
  placed: number;
  replayed: number;
  readonly rejected: Partial<Record<ErrorCode, number>>;
}

/** What the actor does per command: decide, then apply the events of an accepted decision. */
function runCommands(state: EngineState, commands: readonly Command[]): Tally {
  const tally: Tally = { placed: 0, replayed: 0, rejected: {} };
  for (const command of commands) {
    const decision = decide(state, command);
    if (!decision.ok) {
      const { code } = decision.rejection;
      tally.rejected[code] = (tally.rejected[code] ?? 0) + 1;
    } else if (decision.events.length === 0) tally.replayed++;
    else {
      for (const event of decision.events) evolve(state, event);
      tally.placed++;
    }
  }
  return tally;
}

/** The flash-sale mix: customers drawn at random (xorshift32), with repeats and retries. */
function flashSaleCommands(customers: readonly string[]): PlaceOrder[] {
  let seed = CUSTOMER_PICK_SEED;
  const pick = (): string => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return customers[(seed >>> 0) % customers.length]!;
  };
  const commands = orderCommands(RUN_COMMANDS, pick);
  for (let i = RETRY_DISTANCE_COMMANDS; i < commands.length; i += RETRY_EVERY_COMMANDS) {
    const original = commands[i - RETRY_DISTANCE_COMMANDS]!;
    if (original.idempotencyKey === null) throw new Error('bench bug: a retry of an unkeyed order');
    commands[i] = { ...original };
  }
  return commands;
}

/** The least work any cap check needs: one lookup and one write per command, same customers. */
function mapBaseline(commands: readonly PlaceOrder[]): number {
  const purchased = new Map<string, number>();
  for (const command of commands)
    purchased.set(command.customerId, (purchased.get(command.customerId) ?? 0) + 1);
  return purchased.size;
}

/** A sale whose stock other customers already bought: every new order is SOLD_OUT. */
function soldOutState(): EngineState {
  const state = stateWithBenchSale(SOLD_OUT_STOCK_UNITS);
  const buyers = SOLD_OUT_STOCK_UNITS / PER_CUSTOMER_LIMIT_UNITS;
  placeAll(
    state,
    orderCommands(SOLD_OUT_STOCK_UNITS, (i) => `early-${i % buyers}`),
  );
  if (state.sales.get(BENCH_SALE_ID)!.sold !== SOLD_OUT_STOCK_UNITS)
    throw new Error('bench bug: the sold-out sale still has stock');
  return state;
}

function secondsOf(run: () => void): number {
  const start = performance.now();
  run();
  return (performance.now() - start) / 1000;
}

const median = (values: readonly number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const percent = (part: number): string => `${((100 * part) / RUN_COMMANDS).toFixed(1)}%`;

/** "88.9% placed, 10.2% LIMIT_EXCEEDED": what the run's decisions were. */
function outcomes(tally: Tally): string {
  const counts: [string, number][] = [
    ['placed', tally.placed],
    ['idempotent replays', tally.replayed],
    ...Object.entries(tally.rejected),
  ];
  return counts
    .filter(([, count]) => count > 0)
    .map(([what, count]) => `${percent(count)} ${what}`)
    .join(', ');
}

export function coreBenchRows(): BenchRow[] {
  const customers = Array.from({ length: CUSTOMER_IDS }, (_, i) => customerId(i));
  const commands = flashSaleCommands(customers);
  const warmup = commands.slice(0, WARMUP_COMMANDS);
  runCommands(stateWithBenchSale(), warmup);
  runCommands(soldOutState(), warmup);
  mapBaseline(warmup);
  const seconds = { baseline: [] as number[], open: [] as number[], soldOut: [] as number[] };
  let distinct = 0;
  let open: Tally | null = null;
  let soldOut: Tally | null = null;
  // Interleaved, so that noise from the other tenants of this machine hits all three alike.
  for (let run = 0; run < TIMED_RUNS; run++) {
    seconds.baseline.push(secondsOf(() => (distinct = mapBaseline(commands))));
    const state = stateWithBenchSale();
    seconds.open.push(secondsOf(() => (open = runCommands(state, commands))));
    if (orderCount(state) !== open!.placed) throw new Error('bench bug: orders lost in the core');
    const closed = soldOutState();
    seconds.soldOut.push(secondsOf(() => (soldOut = runCommands(closed, commands))));
  }
  return rowsOf(seconds, distinct, open!, soldOut!);
}

function rowsOf(
  seconds: Record<'baseline' | 'open' | 'soldOut', number[]>,
  distinct: number,
  open: Tally,
  soldOut: Tally,
): BenchRow[] {
  const rate = (s: number[]): number => RUN_COMMANDS / median(s);
  const baselineRate = rate(seconds.baseline);
  const baseline = 'Map.get+Map.set per command, same customers';
  const sizes = `${(RUN_COMMANDS / 1e6).toFixed(0)}M commands, ${distinct.toLocaleString('en-US')} customers, median of ${TIMED_RUNS}`;
  return [
    { name: 'baseline: Map.get+Map.set per customer', value: baselineRate, unit: 'ops/s' },
    {
      name: 'core: decide+evolve, open sale',
      value: rate(seconds.open),
      unit: 'commands/s',
      baseline,
      ratio: rate(seconds.open) / baselineRate,
      note: `${outcomes(open)}; ${sizes}`,
    },
    {
      name: 'core: decide, sold-out sale',
      value: rate(seconds.soldOut),
      unit: 'commands/s',
      baseline,
      ratio: rate(seconds.soldOut) / baselineRate,
      note: `${outcomes(soldOut)}; ${sizes}`,
    },
  ];
}
