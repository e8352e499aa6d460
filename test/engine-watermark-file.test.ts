import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { WatermarkFile, type WatermarkLogger } from '../engine/shell/watermark-file.js';

// The outbox watermark file: a damaged one (a crash or a full disk can leave it empty or cut off)
// must mean "re-publish from the start of the log", with a warning, never a failed start. Every
// message is still in the log, and JetStream de-duplicates what it already has.

const FILE_NAME = 'outbox-watermark.json';

class WarningsSeen implements WatermarkLogger {
  readonly warnings: { obj: object; msg: string }[] = [];
  warn(obj: object, msg: string): void {
    this.warnings.push({ obj, msg });
  }
}

t.test('a written watermark reads back; a missing file is 0 without a warning', async (t) => {
  const dir = t.testdir();
  const file = new WatermarkFile(dir);
  const logger = new WarningsSeen();
  t.equal(await file.read(logger), 0, 'no file: nothing acknowledged yet');
  await file.write(42);
  t.equal(await file.read(logger), 42);
  t.same(logger.warnings, [], 'nothing to warn about');
});

const DAMAGED: Record<string, string> = {
  empty: '',
  'cut off': '{"lsn":12',
  'not JSON': 'garbage',
  'JSON null': 'null',
  'a number, not an object': '12',
  'no lsn': '{}',
  'a negative lsn': '{"lsn":-1}',
  'a fractional lsn': '{"lsn":1.5}',
  'an lsn in a string': '{"lsn":"12"}',
};

for (const [damage, text] of Object.entries(DAMAGED))
  t.test(
    `a damaged file (${damage}) means re-publishing the whole log, with a warning`,
    async (t) => {
      const dir = t.testdir();
      const path = join(dir, FILE_NAME);
      await writeFile(path, text);
      const logger = new WarningsSeen();
      t.equal(await new WatermarkFile(dir).read(logger), 0, 'read as 0');
      t.match(logger.warnings, [{ obj: { file: path }, msg: /re-publishing the whole log/ }]);
      t.equal(await readFile(path, 'utf8'), text, 'the file is left for the next write to replace');
    },
  );
