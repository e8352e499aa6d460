// Reads HTTP/1.1 replies off one keep-alive connection, as cheaply as a load generator must: on two
// shared cores every µs it spends is taken from the server it measures. It reads the status line,
// the three headers that frame a reply (content-length, transfer-encoding, connection) and skips
// the body by its length; nothing else is decoded. A reply it can't frame — chunked, or with no
// length — is a ProtocolError: every server the benches load (Fastify) sends a content-length,
// and a silent misread would count replies that never came.

const HEAD_END = Buffer.from('\r\n\r\n');
const HEAD_END_BYTES = HEAD_END.length;
/** A head larger than this is not one of our servers' replies. */
export const REPLY_HEAD_BYTES_MAX = 16 * 1024;
/** Nor a body larger than this. */
export const REPLY_BODY_BYTES_MAX = 1024 * 1024;
const EMPTY = Buffer.alloc(0);
/** "HTTP/1.1 201 …": the status code's three digits start at byte 9. */
const STATUS_OFFSET = 9;
const ASCII_ZERO = 48;

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

/** Called once per complete reply; `body` is valid only during the call (copy it to keep it). */
export type ReplyListener = (status: number, body: Buffer, closeAfter: boolean) => void;

export class ResponseReader {
  /** Bytes received and not yet consumed: part of a head, or of a body. */
  private buffered: Buffer = EMPTY;
  /** Set while the head of the current reply has been read and its body has not. */
  private bodyBytes = -1;
  private status = 0;
  private closeAfter = false;

  constructor(private readonly onReply: ReplyListener) {}

  feed(chunk: Buffer): void {
    let data = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    for (;;) {
      if (this.bodyBytes < 0) {
        const headEnd = data.indexOf(HEAD_END);
        if (headEnd === -1) {
          if (data.length > REPLY_HEAD_BYTES_MAX)
            throw new ProtocolError(`no end of head in ${data.length} bytes`);
          this.buffered = data;
          return;
        }
        this.readHead(data, headEnd);
        data = data.subarray(headEnd + HEAD_END_BYTES);
      }
      if (data.length < this.bodyBytes) {
        this.buffered = data;
        return;
      }
      const body = data.subarray(0, this.bodyBytes);
      data = data.subarray(this.bodyBytes);
      this.bodyBytes = -1;
      this.onReply(this.status, body, this.closeAfter);
      if (data.length === 0) {
        this.buffered = EMPTY;
        return;
      }
    }
  }

  private readHead(data: Buffer, headEnd: number): void {
    if (data.length < STATUS_OFFSET + 3 || data.toString('latin1', 0, 7) !== 'HTTP/1.')
      throw new ProtocolError('not an HTTP/1.x reply');
    this.status =
      (data[STATUS_OFFSET]! - ASCII_ZERO) * 100 +
      (data[STATUS_OFFSET + 1]! - ASCII_ZERO) * 10 +
      (data[STATUS_OFFSET + 2]! - ASCII_ZERO);
    if (!(this.status >= 100 && this.status <= 599)) throw new ProtocolError('bad status code');
    // Header names are case-insensitive; a lower-cased copy of a ~200-byte head is cheap.
    const head = data.toString('latin1', 0, headEnd).toLowerCase();
    this.closeAfter = head.includes('\r\nconnection: close');
    if (head.includes('\r\ntransfer-encoding:'))
      throw new ProtocolError('a reply with transfer-encoding, which this reader does not decode');
    const at = head.indexOf('\r\ncontent-length:');
    if (at === -1) {
      // Only these carry no body without saying so; any other would run to the connection's end.
      if (this.status === 204 || this.status === 304 || this.status < 200) this.bodyBytes = 0;
      else throw new ProtocolError(`a ${this.status} reply without content-length`);
      return;
    }
    const length = Number.parseInt(head.slice(at + '\r\ncontent-length:'.length), 10);
    if (!Number.isSafeInteger(length) || length < 0 || length > REPLY_BODY_BYTES_MAX)
      throw new ProtocolError(`content-length ${length}`);
    this.bodyBytes = length;
  }
}
