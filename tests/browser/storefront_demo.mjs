// Drives the storefront demo page in headless Chromium (the OS package, never a downloaded browser)
// with playwright-core: stock per location, a store picked for pickup, a delivery date; or, given
// "configurable", the configurable product's page, its options chosen in the add-to-cart form.
// Prints what it saw as one JSON object on stdout (the pytest test checks it against the
// simulators) and saves a full-page screenshot.
//
//   STOREFRONT_DIR=storefront CHROMIUM_PATH=/usr/bin/chromium node storefront_demo.mjs <page url> <screenshot.png> [configurable]
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

const [pageUrl, screenshot, mode] = process.argv.slice(2);
const storefrontDir = process.env.STOREFRONT_DIR;
const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
if (!pageUrl || !screenshot || !storefrontDir) {
  console.error('usage: STOREFRONT_DIR=<storefront/> node storefront_demo.mjs <page url> <screenshot.png>');
  process.exit(2);
}
// playwright-core is a dev dependency of storefront/, not of this folder.
const { chromium } = createRequire(path.join(path.resolve(storefrontDir), 'package.json'))('playwright-core');

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const WAIT = { timeout: 15000 };

const userDataDir = mkdtempSync(path.join(tmpdir(), 'omsb-chromium-'));
const problems = [];
let context;
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath, headless: true, args: FLAGS, viewport: { width: 1100, height: 900 }, locale: 'en-US',
  });
  const page = context.pages()[0] || (await context.newPage());
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  if (mode === 'configurable') {
    console.log(JSON.stringify({ ...(await configurable(page)), problems }));
    await page.screenshot({ path: screenshot, fullPage: true });
  } else {
    await simple(page, screenshot);
  }
} catch (error) {
  console.error(`storefront demo failed: ${error.message}`);
  if (problems.length) console.error(problems.join('\n'));
  const page = context?.pages()[0];
  if (page) await page.screenshot({ path: screenshot.replace(/\.png$/, '-failure.png'), fullPage: true }).catch(() => {});
  process.exitCode = 1;
} finally {
  await context?.close();
  rmSync(userDataDir, { recursive: true, force: true });
}

async function stockTable(stock) {
  await stock.locator('tbody tr').first().waitFor(WAIT);
  return stock.locator('tbody tr').evaluateAll((rows) => rows.map((row) => ({
    source: row.dataset.source,
    name: row.querySelector('.omsb-name').textContent,
    address: row.querySelector('.omsb-address')?.textContent ?? null,
    availability: row.querySelector('td').textContent,
  })));
}

// The configurable tee: the parent's summary until the options are chosen, then the chosen child's.
async function configurable(page) {
  await page.goto(`${pageUrl}/tee`, { waitUntil: 'domcontentloaded' });
  const stock = page.locator('#stock');
  const pickup = page.locator('#pickup');
  await stock.locator('.omsb-summary').waitFor(WAIT);
  const before = {
    summary: await stock.locator('.omsb-summary').textContent(),
    hint: await stock.locator('.omsb-status').textContent(),
    pickupHint: await pickup.locator('.omsb-status').textContent(),
    pickupDisabled: await pickup.getByRole('button', { name: 'Find stores' }).isDisabled(),
  };
  // One option chosen of two: still the parent.
  await page.locator('#attribute144').selectOption('169');
  await page.waitForTimeout(100);
  const halfway = await stock.getAttribute('data-sku');
  await page.locator('#attribute93').selectOption('58');
  await page.waitForFunction(() => document.querySelector('#stock').dataset.sku !== 'OB-TEE', null, WAIT);
  const rust = { sku: await stock.getAttribute('data-sku'), rows: await stockTable(stock),
                 summary: await stock.locator('.omsb-summary').textContent() };
  const stores = await storesNear(pickup, '60601');
  await page.locator('#attribute93').selectOption('49');
  await page.waitForFunction(() => document.querySelector('#stock').dataset.sku === 'OB-TEE-L-NAVY', null, WAIT);
  await stock.locator('tbody tr').first().waitFor(WAIT);
  const navy = { summary: await stock.locator('.omsb-summary').textContent() };
  return { before, halfway, rust: { ...rust, stores }, navy };
}

// The stores the pickup component lists near a postcode.
async function storesNear(pickup, postcode) {
  await pickup.getByLabel('Postcode').fill(postcode);
  await pickup.getByRole('button', { name: 'Find stores' }).click();
  await pickup.locator('.omsb-store').first().waitFor(WAIT);
  return pickup.locator('.omsb-store').evaluateAll((rows) => rows.map((row) => ({
    source: row.dataset.source,
    name: row.querySelector('.omsb-name').textContent,
    distance: row.querySelector('.omsb-distance').textContent,
    availability: row.querySelector('.omsb-level').textContent,
    disabled: row.querySelector('input').disabled,
  })));
}

async function simple(page, screenshot) {
  await page.goto(pageUrl, { waitUntil: 'domcontentloaded' });
  await page.evaluate(() => {
    document.addEventListener('omsbridge:store-selected', (event) => { window.omsbSelected = event.detail; });
  });

  // Stock per location, as soon as the page has loaded.
  const stock = page.locator('#stock');
  const stockRows = await stockTable(stock);
  const stockSummary = await stock.locator('.omsb-summary').textContent();

  // Pickup: two mugs, stores near a Chicago postcode, pick the nearest that has them.
  await page.locator('#qty').fill('2');
  const pickup = page.locator('#pickup');
  const stores = await storesNear(pickup, '60601');
  await pickup.getByRole('radio', { name: /Chicago Loop/ }).check();
  const pickupTime = pickup.locator('.omsb-result time');
  await pickupTime.waitFor(WAIT);
  const pickupResult = {
    text: await pickup.locator('.omsb-result').textContent(),
    day: await pickupTime.getAttribute('datetime'),
  };
  const selected = await page.evaluate(() => window.omsbSelected ?? null);

  // Delivery to a New York postcode.
  const delivery = page.locator('#delivery');
  await delivery.getByLabel('Postcode').fill('10001');
  await delivery.getByRole('button', { name: 'Check delivery date' }).click();
  const deliveryTime = delivery.locator('.omsb-result time');
  await deliveryTime.waitFor(WAIT);
  const deliveryResult = {
    text: await delivery.locator('.omsb-result').textContent(),
    day: await deliveryTime.getAttribute('datetime'),
  };

  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(JSON.stringify({
    stock: { summary: stockSummary, rows: stockRows },
    pickup: { stores, result: pickupResult, selected },
    delivery: deliveryResult,
    problems,
  }));
}
