import t from 'tap';
import { loadEngineConfig } from '../engine/shell/config.js';

// The engine's settings as the environment gives them: the sales it serves and may adopt.

t.test('ENGINE_SALES and ENGINE_SALES_ADOPT', async (t) => {
  const config = loadEngineConfig({ ENGINE_SALES: 'north, south' });
  t.same(config.sales, ['north', 'south'], 'a comma-separated list, spaces ignored');
  t.same([...config.salesToAdopt], [], 'adopting nothing unless told');

  const adopting = loadEngineConfig({
    ENGINE_SALES: 'north,south,east',
    ENGINE_SALES_ADOPT: 'south, east@3f1c9a52-wal',
  });
  t.same(
    [...adopting.salesToAdopt],
    [
      ['south', null],
      ['east', '3f1c9a52-wal'],
    ],
    'a sale from any WAL, or from the WAL named after @',
  );
  for (const bad of ['south@', 'south@a@b', 'south,south@a'])
    t.throws(
      () => loadEngineConfig({ ENGINE_SALES: 'south', ENGINE_SALES_ADOPT: bad }),
      /give each sale once, as <saleId> or <saleId>@<walId/,
      `${bad} is refused`,
    );

  for (const notServed of ['south', 'south@any-wal'])
    t.throws(
      () => loadEngineConfig({ ENGINE_SALES: 'north', ENGINE_SALES_ADOPT: notServed }),
      /ENGINE_SALES_ADOPT: "south" is not in ENGINE_SALES/,
      'a sale to adopt must be one the engine serves',
    );
  t.throws(() => loadEngineConfig({ ENGINE_SALES: 'a,a' }), /lists a sale twice/);
  t.throws(() => loadEngineConfig({ ENGINE_SALES: 'a.b' }), /"a.b" is not a saleId/);
});
