/** The floor's request-reply subject, and the subjects of its JetStream stream. */
export const FLOOR_COMMAND_SUBJECT = 'floor.cmd';
export const FLOOR_STREAM = 'FLOOR';
export const FLOOR_STREAM_SUBJECT = 'floor.orders';
