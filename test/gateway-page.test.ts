import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import t from 'tap';
import { EngineClient } from '../scripts/client/engine-client.js';
import { PROJECT_ROOT } from '../scripts/stack/service-process.js';
import { createSale, http, startStack } from './helpers/stack.js';

// The live page (gateway/public) in a real headless Chromium against a real stack: the counter
// follows orders placed elsewhere, the buy button places an order, and a shipping status recorded
// in the engine shows up on the page without a reload. Ends with the screenshot in docs/.

/** Debian's package; .ci/run installs it. Another build can be named with CHROMIUM_PATH. */
const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** How long the page may take to show one expected change. */
const WAIT_MS_MAX = 10_000;
const SCREENSHOT = join(PROJECT_ROOT, 'docs', 'live-page.png');
const VIEWPORT = { width: 820, height: 640 };

/** Waits until `expression` (run in the page) is true; fails naming what never showed. */
async function showing(page: Page, expression: string, what: string): Promise<void> {
  try {
    await page.waitForFunction(expression, undefined, { timeout: WAIT_MS_MAX });
  } catch (error) {
    throw new Error(`the page never showed ${what}: ${(error as Error).message}`);
  }
}

const textIs = (selector: string, text: string) =>
  `document.querySelector(${JSON.stringify(selector)})?.textContent.trim() === ${JSON.stringify(text)}`;

t.test('the live page: counter, buy button and shipping status, live', async (t) => {
  if (!existsSync(CHROMIUM_PATH))
    throw new Error(
      `No Chromium at ${CHROMIUM_PATH}: install it (apt-get install chromium, as .ci/run does) ` +
        'or point CHROMIUM_PATH at one.',
    );
  const stack = await startStack(t, { sales: ['launch'] });
  const base = stack.gateways[0]!.url;
  await createSale(stack, 'launch', {
    stock: 20,
    perCustomerLimit: 2,
    name: 'Trail runner — launch edition',
  });

  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--no-sandbox'] });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: VIEWPORT });
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });

  await page.goto(`${base}/?sale=launch#token=${stack.token('page-alice')}`);
  await showing(page, textIs('#remaining', '20'), 'the stock of 20');
  await showing(page, textIs('#sale-name', 'Trail runner — launch edition'), 'the sale name');
  t.equal(await page.textContent('#limit'), '2', 'the per-customer limit');
  t.equal(page.url(), `${base}/?sale=launch`, 'the token is taken out of the address bar');

  for (const [customer, quantity] of [
    ['page-bob', 2],
    ['page-carol', 1],
  ] as const) {
    const placed = await http(`${base}/v1/sales/launch/orders`, {
      method: 'POST',
      token: stack.token(customer),
      body: { quantity },
    });
    t.equal(placed.status, 201, `${customer} buys ${quantity} elsewhere`);
  }
  await showing(page, textIs('#remaining', '17'), 'the counter moving to 17');
  t.pass('the counter follows orders placed elsewhere');

  await page.click('#buy');
  const confirmed = '#orders li[data-order-id] .status[data-status="CONFIRMED"]';
  await showing(page, `document.querySelector(${JSON.stringify(confirmed)}) !== null`, 'the order');
  const orderId = await page.getAttribute('#orders li[data-order-id]', 'data-order-id');
  if (orderId === null) throw new Error('the order has no data-order-id');
  t.match(orderId, /^launch~\d+$/, `the order ${orderId} is listed, confirmed`);
  await showing(page, textIs('#remaining', '16'), 'the counter moving to 16 after buying');
  const mine = await http(`${base}/v1/orders/${orderId}`, { token: stack.token('page-alice') });
  t.match(mine.body, { customerId: 'page-alice', quantity: 1, status: 'CONFIRMED' }, 'really mine');

  const recorded = await new EngineClient(stack.nc).recordShippingStatus(
    'launch',
    orderId,
    'SHIPPING_REQUESTED',
    { trackingId: 'TRK-20931' },
  );
  t.ok(recorded.ok, 'the shipment is recorded in the engine');
  const shipped = `#orders li[data-order-id=${JSON.stringify(orderId)}] .status[data-status="SHIPPING_REQUESTED"]`;
  await showing(
    page,
    `document.querySelector(${JSON.stringify(shipped)}) !== null`,
    'the shipment',
  );
  t.match(
    await page.textContent(`#orders li[data-order-id=${JSON.stringify(orderId)}]`),
    /TRK-20931/,
    'with its tracking id, without a reload',
  );
  t.equal(await page.locator('#orders li[data-order-id]').count(), 1, 'listed once');

  await mkdir(join(PROJECT_ROOT, 'docs'), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  t.same(problems, [], 'no errors in the page');
});
