import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';

// Each service owns the streams it writes to and states every setting, rather than take the
// server's defaults: at start it creates its stream, or brings an existing one in line.

export type StreamSettings = Partial<StreamConfig> & { readonly name: string };

/** Whether JetStream refused with this code (e.g. `JetStreamApiCodes.StreamNotFound`). */
export const isJetStreamError = (error: unknown, code: number): boolean =>
  error instanceof JetStreamApiError && error.code === code;

/** Creates the stream, or updates it to these settings; says which. */
export async function ensureStream(
  jsm: JetStreamManager,
  settings: StreamSettings,
): Promise<'created' | 'updated'> {
  try {
    await jsm.streams.info(settings.name);
  } catch (error) {
    if (!isJetStreamError(error, JetStreamApiCodes.StreamNotFound)) throw error;
    await jsm.streams.add(settings);
    return 'created';
  }
  await jsm.streams.update(settings.name, settings);
  return 'updated';
}
