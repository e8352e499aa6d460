import t from 'tap';
import { loadGatewayConfig } from '../gateway/config.js';

// The gateway's event-loop shedding limit: a default, 0 for off, and nothing below what can be
// measured.

t.test('EVENT_LOOP_DELAY_MS_MAX', async (t) => {
  t.equal(loadGatewayConfig({}).eventLoopDelayMsMax, 500, 'sheds past 500 ms by default');
  t.equal(loadGatewayConfig({ EVENT_LOOP_DELAY_MS_MAX: '0' }).eventLoopDelayMsMax, 0, '0: off');
  t.equal(loadGatewayConfig({ EVENT_LOOP_DELAY_MS_MAX: '10' }).eventLoopDelayMsMax, 10);
  t.throws(
    () => loadGatewayConfig({ EVENT_LOOP_DELAY_MS_MAX: '5' }),
    /EVENT_LOOP_DELAY_MS_MAX: 5 is below the 10 ms/,
    'a limit finer than the measurement is refused, naming the setting',
  );
});
