import t from 'tap';
import { ResponseReader } from '../bench/load/response-reader.js';

// The load generator's reader of HTTP replies: it frames replies by their content-length however
// the bytes arrive (one reply over many chunks, several in one), and refuses what it can't frame
// rather than count a reply that never came.

const PROTOCOL_ERROR = { name: 'ProtocolError' };

const reply = (status: number, body: string, extra = ''): string =>
  `HTTP/1.1 ${status} X\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;

function readAll(chunks: readonly string[]): { status: number; body: string; close: boolean }[] {
  const replies: { status: number; body: string; close: boolean }[] = [];
  const reader = new ResponseReader((status, body, close) =>
    replies.push({ status, body: body.toString(), close }),
  );
  for (const chunk of chunks) reader.feed(Buffer.from(chunk, 'latin1'));
  return replies;
}

t.test('one reply in one chunk', async (t) => {
  t.strictSame(readAll([reply(201, '{"ok":true}')]), [
    { status: 201, body: '{"ok":true}', close: false },
  ]);
});

t.test('a reply split at every byte, and two replies in one chunk', async (t) => {
  const text = reply(409, '{"error":"SOLD_OUT"}', 'connection: close\r\n');
  t.strictSame(readAll([...text]), [{ status: 409, body: '{"error":"SOLD_OUT"}', close: true }]);
  t.strictSame(
    readAll([
      reply(201, 'a') + reply(204, '').replace('Content-Length: 0\r\n', '') + reply(200, 'bc'),
    ]),
    [
      { status: 201, body: 'a', close: false },
      { status: 204, body: '', close: false },
      { status: 200, body: 'bc', close: false },
    ],
  );
});

t.test('what it cannot frame is a ProtocolError', async (t) => {
  t.throws(
    () => readAll(['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n']),
    PROTOCOL_ERROR,
  );
  t.throws(
    () => readAll(['HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nall of it']),
    PROTOCOL_ERROR,
  );
  t.throws(() => readAll(['SSH-2.0-OpenSSH\r\n\r\n']), PROTOCOL_ERROR);
  t.throws(() => readAll([`HTTP/1.1 200 OK\r\n${'x: y\r\n'.repeat(4_000)}`]), PROTOCOL_ERROR);
});
