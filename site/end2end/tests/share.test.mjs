// Sharing through the page, end to end, against the local stack (infra/run or infra/test).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jsQR from 'jsqr';
import { launch, downloadFrom, BASE_URL } from './browser.mjs';

// A token per run keeps this run's files apart from any already on a running stack.
const run = randomBytes(4).toString('hex');
const dir = mkdtempSync(join(tmpdir(), 'twinshare-e2e-'));
const files = {
  named: { name: `Über café "report" ${run}.txt`, bytes: randomBytes(3 * 1024 * 1024 + 17) },
  anonymous: { name: `holiday photo ${run}.bin`, bytes: randomBytes(200 * 1024) },
  unlisted: { name: `private notes ${run}.txt`, bytes: randomBytes(1000) },
};
for (const file of Object.values(files)) {
  file.path = join(dir, file.name);
  writeFileSync(file.path, file.bytes);
}

let context;
let page;
before(async () => {
  context = await launch();
  page = await context.newPage();
  page.on('pageerror', (err) => console.error('page error:', err));
});
after(async () => context?.close());

/** Uploads one file through the share page and returns the link it shows. */
async function share(file, { uploader = '', listed = true } = {}) {
  await page.goto(BASE_URL + '/');
  await page.fill('input[name=uploader]', uploader);
  await page.setChecked('input[name=listed]', listed);
  await page.setInputFiles('input[type=file]', file.path);
  const row = page.locator('li.upload', { hasText: file.name });
  await row.locator('.state.done').waitFor({ timeout: 60_000 });
  assert.match(await row.locator('.state').innerText(), /Shared · (1 copy|copying|2 copies)/);
  const link = await row.locator('a.share-link').innerText();
  assert.equal(await qrText(row.locator('figure.qr')), link, 'the QR code carries the share link');
  return link;
}

/** What a QR code on the page says: its SVG drawn on a canvas in the page, decoded here. */
async function qrText(figure) {
  const image = await figure.evaluate(async (el) => {
    const svg = new XMLSerializer().serializeToString(el.querySelector('svg'));
    const img = new Image();
    img.src = 'data:image/svg+xml;base64,' + btoa(svg);
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const context2d = canvas.getContext('2d');
    context2d.drawImage(img, 0, 0);
    const { data, width, height } = context2d.getImageData(0, 0, canvas.width, canvas.height);
    return { data: Array.from(data), width, height };
  });
  return jsQR(Uint8ClampedArray.from(image.data), image.width, image.height)?.data;
}

/** Waits until the table shows exactly `count` rows (results replace the table asynchronously). */
async function rowsSettle(count) {
  await page.waitForFunction((n) => document.querySelectorAll('tr.file').length === n, count, { timeout: 15_000 });
}

test('two files shared through the page appear in the table with their uploader', async () => {
  files.named.link = await share(files.named, { uploader: 'Alice' });
  files.anonymous.link = await share(files.anonymous);
  assert.match(files.named.link, new RegExp(`^${BASE_URL}/f/[0-9a-f]{32}$`));

  await page.goto(BASE_URL + '/files');
  await page.fill('input[type=search]', run);
  const rows = page.locator('tr.file');
  await rowsSettle(2);
  const named = rows.filter({ hasText: files.named.name });
  assert.match(await named.innerText(), /Alice/);
  assert.match(await named.innerText(), /3\.0 MiB/);
  assert.match(await rows.filter({ hasText: files.anonymous.name }).innerText(), /anonymous/);
});

test('the copy state reaches "2 copies" in the table without a reload', async () => {
  await page.goto(BASE_URL + '/files');
  await page.fill('input[type=search]', run);
  await rowsSettle(2);
  for (const file of [files.named, files.anonymous]) {
    const badge = page.locator('tr.file', { hasText: file.name }).locator('.badge');
    await page.waitForFunction((el) => el.textContent === '2 copies', await badge.elementHandle(), { timeout: 30_000 });
  }
});

test('search finds one file, case-insensitively, and download gives the same bytes and name', async () => {
  await page.goto(BASE_URL + '/files');
  await page.fill('input[type=search]', `CAFÉ "REPORT" ${run}`);
  const rows = page.locator('tr.file');
  await rowsSettle(1);
  assert.match(await rows.first().innerText(), new RegExp(run));
  assert.equal(await rows.first().locator('a.file-name').innerText(), files.named.name);
  const { bytes, name } = await downloadFrom(page, rows.first().locator('a.download'));
  assert.ok(bytes.equals(files.named.bytes), 'downloaded bytes differ from the uploaded ones');
  // Chromium saves '"' as '_' whatever the header says (it is illegal in some file systems);
  // spaces and non-ASCII characters arrive as sent. The exact header is asserted in Rust.
  assert.equal(name, files.named.name.replaceAll('"', '_'));
});

test('a shared link opens the file page, which downloads the file', async () => {
  await page.goto(files.anonymous.link);
  await page.locator('h1.file-name').waitFor();
  assert.equal(await page.locator('h1.file-name').innerText(), files.anonymous.name);
  assert.equal(await qrText(page.locator('figure.qr')), files.anonymous.link);
  const { bytes, name } = await downloadFrom(page, page.locator('a.download'));
  assert.ok(bytes.equals(files.anonymous.bytes));
  assert.equal(name, files.anonymous.name);
});

test('an unlisted file is not in the table but its link works', async () => {
  const link = await share(files.unlisted, { listed: false });
  await page.goto(BASE_URL + '/files');
  await page.fill('input[type=search]', run);
  await rowsSettle(2);
  assert.equal(await page.locator('tr.file', { hasText: files.unlisted.name }).count(), 0);
  await page.goto(link);
  await page.locator('h1.file-name').waitFor();
  assert.equal(await page.locator('h1.file-name').innerText(), files.unlisted.name);
});

test('an empty file gets a readable error and is not shared', async () => {
  const empty = join(dir, `empty ${run}.txt`);
  writeFileSync(empty, '');
  await page.goto(BASE_URL + '/');
  await page.setInputFiles('input[type=file]', empty);
  const error = page.locator('li.upload .state.error');
  await error.waitFor();
  assert.match(await error.innerText(), /empty/);
});

test('with the primary region down, a banner says so and the page still downloads', async (t) => {
  const gateway = process.env.E2E_PRIMARY_S3_URL;
  if (!gateway) {
    t.skip('E2E_PRIMARY_S3_URL (the primary region\'s S3 gateway) is not set');
    return;
  }
  const fault = (mode) => fetch(`${gateway}/__twinshare/fault`, { method: 'PUT', body: mode });
  await page.goto(files.named.link);
  await page.locator('h1.file-name').waitFor();
  await page.waitForFunction(() => document.querySelector('.file-page .badge')?.textContent === 'Stored in 2 regions', null, { timeout: 30_000 });
  assert.equal((await fault('down')).status, 200);
  try {
    await page.locator('.banner').waitFor({ timeout: 45_000 });
    assert.match(await page.locator('.banner').innerText(), /eu-west-1 is down/);
    const { bytes } = await downloadFrom(page, page.locator('a.download'));
    assert.ok(bytes.equals(files.named.bytes), 'downloaded from the replica, same bytes');
  } finally {
    await fault('ok');
  }
  await page.locator('.banner').waitFor({ state: 'detached', timeout: 45_000 });
});
