import { type Static, Type } from '@sinclair/typebox';
import envSchema from 'env-schema';
import { LogLevelSetting } from '../service-kit/settings.js';
import { type Faults, LATENCY_MS_CEILING } from './faults.js';

// The fake carrier's settings, read from the environment once at start and validated; a bad
// value stops the process with a message naming the variable. The faults are only the starting
// point: `PUT /admin/faults` changes them at run time.

/** The longest outage a setting or `POST /admin/outage` may ask for (a day). */
export const OUTAGE_MS_CEILING = 86_400_000;

/** A probability per call. */
const Rate = () => Type.Number({ default: 0, minimum: 0, maximum: 1 });

const CarrierEnv = Type.Object({
  /** 0 takes a free port (read it back from the 'carrier listening' log line). */
  CARRIER_PORT: Type.Integer({ default: 4_000, minimum: 0, maximum: 65_535 }),
  CARRIER_HOST: Type.String({ default: '127.0.0.1', minLength: 1 }),
  /** Calls answered 503 CARRIER_ERROR, shipping nothing. */
  CARRIER_FAILURE_RATE: Rate(),
  /** Each call first waits a uniform random time up to this. */
  CARRIER_LATENCY_MS_MAX: Type.Integer({ default: 0, minimum: 0, maximum: LATENCY_MS_CEILING }),
  /** Calls never answered. */
  CARRIER_TIMEOUT_RATE: Rate(),
  /** Calls that ship but answer 500, as if the reply were lost. */
  CARRIER_LOST_REPLY_RATE: Rate(),
  /** An outage from start-up for this long (503 CARRIER_DOWN to every call). */
  CARRIER_OUTAGE_MS: Type.Integer({ default: 0, minimum: 0, maximum: OUTAGE_MS_CEILING }),
  LOG_LEVEL: LogLevelSetting,
});

export type CarrierConfig = Readonly<{
  port: number;
  host: string;
  logLevel: string;
  faults: Faults;
  outageMs: number;
}>;

export function loadCarrierConfig(env: NodeJS.ProcessEnv = process.env): CarrierConfig {
  const values = envSchema<Static<typeof CarrierEnv>>({
    schema: CarrierEnv,
    data: env,
    dotenv: false,
  });
  return {
    port: values.CARRIER_PORT,
    host: values.CARRIER_HOST,
    logLevel: values.LOG_LEVEL,
    faults: {
      failureRate: values.CARRIER_FAILURE_RATE,
      latencyMsMax: values.CARRIER_LATENCY_MS_MAX,
      timeoutRate: values.CARRIER_TIMEOUT_RATE,
      lostReplyRate: values.CARRIER_LOST_REPLY_RATE,
    },
    outageMs: values.CARRIER_OUTAGE_MS,
  };
}
