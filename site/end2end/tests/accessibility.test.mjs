// Every page and upload state, at a desktop and a phone width, checked with axe-core (zero
// violations), titled, with focus and announcements where a keyboard or screen reader user
// needs them. Screenshots of each page at 390 px go to E2E_SCREENSHOTS (if set) for a look.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, BASE_URL } from './browser.mjs';
import { expectAccessible } from './axe.mjs';

const MIB = 1024 * 1024;
const WIDTHS = { desktop: { width: 1280, height: 900 }, phone: { width: 390, height: 844 } };
const run = randomBytes(4).toString('hex');
const dir = mkdtempSync(join(tmpdir(), 'twinshare-e2e-a11y-'));

let context;
let page;
let shared; // { id, name } of a file shared in `before`
before(async () => {
  context = await launch();
  page = await context.newPage();
  page.on('pageerror', (err) => console.error('page error:', err));
  const name = `accessible ${run}.txt`;
  writeFileSync(join(dir, name), `checked by axe ${run}\n`);
  await page.goto(BASE_URL + '/');
  const [created] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/uploads') && r.request().method() === 'POST'),
    page.setInputFiles('input[type=file]', join(dir, name)),
  ]);
  shared = { id: (await created.json()).file.id, name };
  await page.locator('li.upload', { hasText: name }).locator('.state.done').waitFor({ timeout: 30_000 });
});
after(async () => context?.close());

async function check(where, title) {
  for (const [width, size] of Object.entries(WIDTHS)) {
    await page.setViewportSize(size);
    await expectAccessible(page, `${where} at ${size.width} px (${width})`);
    if (width === 'phone' && process.env.E2E_SCREENSHOTS) {
      await page.screenshot({ path: join(process.env.E2E_SCREENSHOTS, `${where.replace(/\W+/g, '-')}.png`), fullPage: true });
    }
  }
  if (title) assert.match(await page.title(), title, `${where}: the tab's title`);
}

test('the upload page: empty, done, refused', async () => {
  await page.goto(BASE_URL + '/');
  await page.locator('h1').waitFor();
  await check('upload page', /^Share files · twinshare$/);
  // A finished upload: its state is announced politely, its links are in reach.
  await page.setInputFiles('input[type=file]', join(dir, shared.name));
  const row = page.locator('li.upload', { hasText: shared.name });
  await row.locator('.state.done').waitFor({ timeout: 30_000 });
  await page.waitForFunction(() => /Shared/.test(document.querySelector('[aria-live=polite]')?.textContent ?? ''),
    null, { timeout: 10_000 });
  await check('upload page after a share');
  const empty = join(dir, `empty ${run}.txt`);
  writeFileSync(empty, '');
  await page.setInputFiles('input[type=file]', empty);
  await page.locator('li.upload .state.error').first().waitFor({ timeout: 10_000 });
  await check('upload page with a refused file');
});

test('the upload page while a file is sent in parts, and with an unfinished upload', async () => {
  const big = join(dir, `parts ${run}.bin`);
  const fd = openSync(big, 'w');
  writeSync(fd, randomBytes(40 * MIB));
  closeSync(fd);
  await page.route((url) => url.searchParams.has('partNumber'), (route) => route.abort('connectionreset'));
  await page.goto(BASE_URL + '/');
  await page.setInputFiles('input[type=file]', big);
  const row = page.locator('li.upload', { hasText: `parts ${run}.bin` });
  await row.locator('.state').waitFor();
  assert.doesNotMatch(await row.innerText(), /-0 %/);
  await check('upload page while sending parts');
  await page.reload();
  await page.locator('.unfinished-upload').first().waitFor({ timeout: 10_000 });
  await check('upload page with an unfinished upload');
  await page.locator('.unfinished-upload button', { hasText: 'Discard' }).first().click();
  await page.locator('.unfinished-upload').first().waitFor({ state: 'detached', timeout: 10_000 });
  await page.unroute((url) => url.searchParams.has('partNumber'));
});

test('the table of files, a search with no match, the status page', async () => {
  await page.goto(BASE_URL + '/files');
  await page.locator('table.files').waitFor();
  await check('files table', /^Shared files · twinshare$/);
  assert.equal(await page.locator('nav a[aria-current=page]').innerText(), 'Files');
  await page.fill('input[type=search]', `nothing matches ${run}`);
  await page.locator('text=No files match.').waitFor();
  await check('files table with no match');
  await page.goto(BASE_URL + '/status');
  await page.locator('h1').waitFor();
  // The local stack sweeps every few seconds: its storage table appears once a pass finished.
  await page.locator('table.buckets tr.bucket').nth(1).waitFor({ timeout: 30_000 });
  assert.match(await page.locator('p.coverage').innerText(), /The last full check read all \d+ records/);
  // The local stack's functions run as the primary region's (eu-west-1).
  assert.equal(await page.locator('p.served-by').innerText(), 'This page was answered from eu-west-1.');
  await check('status page', /^Status · twinshare$/);
});

test('a file page, reached from the table: focus on its heading; a bad link; no such page', async () => {
  await page.goto(BASE_URL + '/files');
  await page.fill('input[type=search]', shared.name);
  await page.locator('a.file-name', { hasText: shared.name }).first().click();
  await page.locator('h1.file-name').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'H1', 'focus moves to the new page');
  await check('file page', new RegExp(`^${shared.name} · twinshare$`));
  await page.goto(BASE_URL + '/f/not-an-id');
  await page.locator('h1').waitFor();
  await check('file page of a malformed link');
  await page.goto(BASE_URL + '/f/0123456789abcdef0123456789abcdef');
  await page.locator('h1').waitFor();
  await check('file page of a file that does not exist');
  await page.goto(BASE_URL + '/no/such/page');
  await page.locator('h1').waitFor();
  await check('a page that does not exist', /^Not found · twinshare$/);
});

test('my uploads, a manage page (and one this browser cannot use), deleting, a deleted file', async () => {
  await page.goto(BASE_URL + '/mine');
  await page.locator('ul.mine li.upload a.name', { hasText: shared.name }).first().waitFor();
  await check('my uploads', /^My uploads · twinshare$/);
  await page.goto(`${BASE_URL}/manage/0123456789abcdef0123456789abcdef`);
  await page.locator('h1').waitFor();
  await check('manage page without its manage link');
  await page.goto(`${BASE_URL}/manage/${shared.id}`);
  await page.locator('input[name=name]').waitFor();
  await check('manage page', new RegExp(`^Manage ${shared.name} · twinshare$`));
  // Protected: its page asks for the password, and says so when it is wrong.
  await page.fill('input[name=password]', `pass ${run}`);
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor({ timeout: 10_000 });
  await check('manage page after saving');
  await page.goto(`${BASE_URL}/f/${shared.id}`);
  await page.fill('input[name=file-password]', 'wrong');
  await page.locator('form.password-download button').click();
  await page.getByRole('alert').waitFor({ timeout: 10_000 });
  await check('a protected file page after a wrong password');
  await page.goto(`${BASE_URL}/manage/${shared.id}`);
  await page.locator('input[name=name]').waitFor();
  await page.getByRole('button', { name: 'Delete…' }).click();
  await check('manage page asking to confirm a delete');
  await page.getByRole('button', { name: 'Delete for good' }).click();
  await page.locator('h1', { hasText: 'This file was deleted' }).waitFor();
  await page.goto(`${BASE_URL}/f/${shared.id}`);
  await page.locator('h1', { hasText: 'This file was deleted' }).waitFor();
  await check('the page of a deleted file', /^This file was deleted · twinshare$/);
});
