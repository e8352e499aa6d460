import { createHash } from 'node:crypto';
import fc from 'fast-check';
import t from 'tap';
import { drawOrder, sha256Hex } from '../engine/core/index.js';

// The core's own SHA-256 (it may not import node:crypto) must be SHA-256: anyone checks the
// draw's seed hash with a standard tool.

const reference = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

t.test('known answers, and every block-boundary length', async (t) => {
  t.equal(sha256Hex(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  t.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  for (let length = 0; length <= 130; length += 1) {
    const text = 'x'.repeat(length);
    t.equal(sha256Hex(text), reference(text), `${length} bytes`);
  }
});

t.test('any text, as node:crypto hashes it', async (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (text) => {
      return sha256Hex(text) === reference(text);
    }),
  );
  t.pass('agrees');
});

t.test('the draw is a permutation, the same for the same seed', async (t) => {
  const lobby = Array.from({ length: 50 }, (_, i) => String(i + 1));
  const seed = 'b'.repeat(64);
  const order = drawOrder(seed, lobby);
  t.same([...order].sort(), [...lobby].sort(), 'a permutation');
  t.same(drawOrder(seed, lobby), order, 'deterministic');
  t.not(drawOrder('c'.repeat(64), lobby).join(), order.join(), 'another seed, another order');
  t.same(lobby[0], '1', 'the input is not shuffled in place');
});
