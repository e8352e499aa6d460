import t from 'tap';
import { loadEngineConfig } from '../engine/shell/config.js';

// The engine's settings as the environment gives them: the sales it serves and may adopt.

t.test('ENGINE_SALES and ENGINE_SALES_ADOPT', async (t) => {
  const config = loadEngineConfig({ ENGINE_SALES: 'north, south' });
  t.same(config.sales, ['north', 'south'], 'a comma-separated list, spaces ignored');
  t.same(config.salesToAdopt, [], 'adopting nothing unless told');

  const adopting = loadEngineConfig({ ENGINE_SALES: 'north,south', ENGINE_SALES_ADOPT: 'south' });
  t.same(adopting.salesToAdopt, ['south']);

  t.throws(
    () => loadEngineConfig({ ENGINE_SALES: 'north', ENGINE_SALES_ADOPT: 'south' }),
    /ENGINE_SALES_ADOPT: "south" is not in ENGINE_SALES/,
    'a sale to adopt must be one the engine serves',
  );
  t.throws(() => loadEngineConfig({ ENGINE_SALES: 'a,a' }), /lists a sale twice/);
  t.throws(() => loadEngineConfig({ ENGINE_SALES: 'a.b' }), /"a.b" is not a saleId/);
});
