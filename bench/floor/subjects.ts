/** The responders' request-reply subjects (one per mode), and their JetStream stream. */
export const floorCommandSubject = (mode: 'echo' | 'durable'): string => `floor.cmd.${mode}`;
export const FLOOR_STREAM = 'FLOOR';
export const FLOOR_STREAM_SUBJECT = 'floor.orders';
