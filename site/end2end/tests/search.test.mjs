// Search and sort in the table, against the local stack: more files than a page holds, shared
// through the API as a program would; the table is then used in Chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { launch, shareViaApi, searchableInEveryRegion, BASE_URL } from './browser.mjs';

const run = randomBytes(4).toString('hex');
// 24 files, newest last; sizes do not follow age, names do not follow either.
const FILES = 24;
const shared = [];

let context;
let page;
before(async () => {
  for (let i = 0; i < FILES; i++) {
    // The oldest has the one rare word; the rest share "sorted".
    const name = i === 0 ? `ancient zephyr ${run}.txt` : `${'mkaqzc'[i % 6]}${i} sorted ${run}.txt`;
    shared.push(await shareViaApi(name, randomBytes(1 + ((i * 7919) % 5000))));
  }
  // Whichever region the front asks, the table is whole.
  await searchableInEveryRegion(run, FILES);
  context = await launch();
  page = await context.newPage();
  page.on('pageerror', (err) => console.error('page error:', err));
});
after(async () => context?.close());

/** The table's rows, once it shows `count` of them, as { name, size text }. */
async function rows(count) {
  await page.waitForFunction((n) => document.querySelectorAll('tr.file').length === n, count, { timeout: 15_000 });
  return page.locator('tr.file a.file-name').allInnerTexts();
}

/** Waits for the first row to be `name` (a new order replaces the table asynchronously). */
async function firstRowIs(name) {
  await page.waitForFunction(
    (expected) => document.querySelector('tr.file a.file-name')?.textContent === expected,
    name,
    { timeout: 15_000 },
  );
}

test('search finds the oldest file among more than a page of files, on the first page', async () => {
  await page.goto(`${BASE_URL}/files?q=${run}`);
  // Newest first: 20 a page, so the oldest is not on the first page of the table...
  const firstPage = await rows(20);
  assert.ok(!firstPage.includes(shared[0].name));
  // ...but a search for its rare word shows it at once.
  await page.fill('input[type=search]', `ZEPHYR ${run}`);
  assert.deepEqual(await rows(1), [shared[0].name]);
  assert.match(page.url(), new RegExp(`q=ZEPHYR(%20|\\+)${run}`));
});

test('sort by size and by name, both ways, across every page, kept in the address', async () => {
  await page.goto(`${BASE_URL}/files?q=sorted%20${run}`);
  await rows(20);
  const sortedFiles = shared.slice(1);
  const bySize = [...sortedFiles].sort((a, b) => b.size - a.size);
  await page.click('th button.sort:has-text("Size")');
  await firstRowIs(bySize[0].name);
  assert.equal(await page.locator('th[aria-sort=descending]').innerText(), 'Size ▼');
  assert.match(page.url(), /sort=size&order=desc/);
  // The second page continues the order: the smallest files, in order.
  await page.click('button:has-text("Next")');
  await firstRowIs(bySize[20].name);
  assert.deepEqual(await rows(3), bySize.slice(20).map((f) => f.name));
  // Again: smallest first, from the first page.
  await page.click('th button.sort:has-text("Size")');
  await firstRowIs(bySize[bySize.length - 1].name);
  assert.match(page.url(), /sort=size&order=asc/);

  // By name, with the phone's control; a reload keeps it.
  const byName = sortedFiles.map((f) => f.name).sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1));
  await page.selectOption('select', { label: 'Name, Z to A' });
  await firstRowIs(byName[byName.length - 1]);
  await page.reload();
  const names = await rows(20);
  assert.deepEqual(names, [...byName].reverse().slice(0, 20));
  assert.equal(await page.locator('select').inputValue(), '3');
});
