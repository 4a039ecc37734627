// A large file through the page: sent in parts, interrupted by a reload half-way, resumed by
// choosing the file again (only the missing parts are sent), paused and resumed, and downloaded
// byte-identical; a part that fails is sent again; an unfinished upload discarded is cancelled.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, BASE_URL } from './browser.mjs';

const MIB = 1024 * 1024;
const SIZE = Number(process.env.E2E_LARGE_MIB ?? 300) * MIB + 12345;
// Slow enough to reload half-way: Chromium's own upload throttling (bytes per second).
const UPLOAD_BYTES_PER_SEC = 40 * MIB;
// Waits that grow with the file (E2E_LARGE_MIB runs it with gigabytes): half a second per MiB.
const LONG_WAIT = Math.max(180_000, (SIZE / MIB) * 500);

const run = randomBytes(4).toString('hex');
const dir = mkdtempSync(join(tmpdir(), 'twinshare-e2e-large-'));
const file = { name: `big video ${run}.bin`, path: '' };

/** Writes SIZE random bytes a MiB at a time; returns their SHA-256 (hex). */
function writeLargeFile(path) {
  const hash = createHash('sha256');
  const fd = openSync(path, 'w');
  for (let written = 0; written < SIZE;) {
    const block = randomBytes(Math.min(MIB, SIZE - written));
    writeSync(fd, block);
    hash.update(block);
    written += block.length;
  }
  closeSync(fd);
  return hash.digest('hex');
}

/** A file of `size` random bytes in the test's folder: { name, path }. */
function randomFile(name, size) {
  const path = join(dir, name);
  const fd = openSync(path, 'w');
  writeSync(fd, randomBytes(size));
  closeSync(fd);
  return { name, path };
}

async function sha256OfFile(path) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash.digest('hex');
}

let context;
let page;
before(async () => {
  file.path = join(dir, file.name);
  file.sha256 = writeLargeFile(file.path);
  context = await launch();
  page = await context.newPage();
  page.on('pageerror', (err) => console.error('page error:', err));
});
after(async () => context?.close());

/** Part numbers whose PUT storage answered with success, since `since` was set. */
const stored = { before: new Set(), after: new Set(), phase: 'before' };
function watchParts(p) {
  p.on('requestfinished', async (request) => {
    const url = new URL(request.url());
    if (request.method() !== 'PUT' || !url.searchParams.has('partNumber')) return;
    const response = await request.response();
    if (response?.ok()) stored[stored.phase].add(Number(url.searchParams.get('partNumber')));
  });
}

async function throttle(p) {
  const cdp = await context.newCDPSession(p);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: UPLOAD_BYTES_PER_SEC,
  });
}

test('a large file resumes after a reload, sending only the missing parts, and downloads identical', async () => {
  watchParts(page);
  await throttle(page);
  await page.goto(BASE_URL + '/');
  const [created] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/uploads') && r.request().method() === 'POST'),
    page.setInputFiles('input[type=file]', file.path),
  ]);
  const { upload: plan } = await created.json();
  assert.equal(plan.kind, 'multipart');
  const row = page.locator('li.upload', { hasText: file.name });
  await row.locator('text=/Uploading \\d+ %.* of \\d+ parts/').waitFor({ timeout: 30_000 });

  // Half-way (a third of the parts stored), the page goes away.
  const third = Math.ceil(plan.part_count / 3);
  for (let i = 0; i < LONG_WAIT / 100 && stored.before.size < third; i++) await page.waitForTimeout(100);
  assert.ok(stored.before.size >= third, `only ${stored.before.size} parts stored`);
  assert.ok(stored.before.size < plan.part_count, 'the whole file was sent before the reload');
  // A screen reader hears how far it has come, a quarter at a time.
  assert.match(await page.locator('[aria-live=polite]').textContent(), /: (25|50|75) % uploaded\./);
  await page.reload();
  stored.phase = 'after';
  await throttle(page);

  const unfinished = page.locator('.unfinished-upload', { hasText: file.name });
  await unfinished.waitFor({ timeout: 10_000 });
  assert.match(await unfinished.innerText(), new RegExp(`of ${plan.part_count} parts stored`));

  const [listed] = await Promise.all([
    page.waitForResponse((r) => /\/api\/uploads\/[0-9a-f]+\/parts$/.test(r.url()) && r.request().method() === 'GET'),
    page.setInputFiles('input[type=file]', file.path),
  ]);
  const storedOnServer = (await listed.json()).parts.map((p) => p.number);
  assert.ok(storedOnServer.length >= stored.before.size, 'the server lost parts the browser saw stored');

  // Pause for a moment: nothing is sent while paused.
  const resumedRow = page.locator('li.upload', { hasText: file.name });
  await resumedRow.locator('button.pause').click();
  await resumedRow.locator('text=/Paused at/').waitFor({ timeout: 10_000 });
  await page.waitForTimeout(300); // parts cancelled by the pause settle
  const atPause = stored.after.size;
  await page.waitForTimeout(1500);
  assert.equal(stored.after.size, atPause, 'parts were stored while paused');
  await resumedRow.locator('button.pause').click();

  await resumedRow.locator('.state.done').waitFor({ timeout: LONG_WAIT });
  const resent = [...stored.after].filter((n) => storedOnServer.includes(n));
  assert.deepEqual(resent, [], 'parts stored before the reload were sent again');
  const all = new Set([...storedOnServer, ...stored.after]);
  assert.equal(all.size, plan.part_count, 'every part was stored once');
  assert.equal(await unfinished.count(), 0, 'the upload is no longer listed as unfinished');

  // Replicated too (and out of the way of the next tests' replication).
  await resumedRow.locator('.state.done', { hasText: '2 copies' }).waitFor({ timeout: LONG_WAIT });

  // Download through the file's page: same bytes.
  await resumedRow.locator('a.share-link').click();
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: LONG_WAIT }),
    page.locator('a.download, a:has-text("Download")').first().click(),
  ]);
  assert.equal(await sha256OfFile(await download.path()), file.sha256);
  assert.equal(download.suggestedFilename(), file.name);
});

test('a part whose PUT fails is sent again after a backoff, and the upload completes', async () => {
  const small = randomFile(`retried ${run}.bin`, 40 * MIB);
  const retryPage = await context.newPage();
  const attempts = new Map();
  // The first attempt at part 3 dies with the connection; the others go through untouched.
  await retryPage.route((url) => url.searchParams.get('partNumber') === '3', async (route) => {
    const count = (attempts.get(3) ?? 0) + 1;
    attempts.set(3, count);
    if (count === 1) await route.abort('connectionreset');
    else await route.continue();
  });
  await retryPage.goto(BASE_URL + '/');
  await retryPage.setInputFiles('input[type=file]', small.path);
  const row = retryPage.locator('li.upload', { hasText: small.name });
  await row.locator('.state.done').waitFor({ timeout: 60_000 });
  assert.equal(attempts.get(3), 2, 'part 3 was sent once more after its failure');
  await retryPage.close();
});

test('an unfinished upload discarded on the page is cancelled on the server (upload-api\'s own permissions)', async () => {
  const abandoned = randomFile(`abandoned ${run}.bin`, 40 * MIB);
  const discardPage = await context.newPage();
  // No part reaches storage: the upload stays unfinished.
  await discardPage.route((url) => url.searchParams.has('partNumber'), (route) => route.abort('connectionreset'));
  await discardPage.goto(BASE_URL + '/');
  const [created] = await Promise.all([
    discardPage.waitForResponse((r) => r.url().endsWith('/api/uploads') && r.request().method() === 'POST'),
    discardPage.setInputFiles('input[type=file]', abandoned.path),
  ]);
  const { file: { id }, manage_token: token } = await created.json();
  await discardPage.reload();
  const unfinished = discardPage.locator('.unfinished-upload', { hasText: abandoned.name });
  await unfinished.waitFor({ timeout: 10_000 });
  const [cancelled] = await Promise.all([
    discardPage.waitForResponse((r) => r.url().endsWith(`/api/uploads/${id}`) && r.request().method() === 'DELETE'),
    unfinished.locator('button', { hasText: 'Discard' }).click(),
  ]);
  assert.equal(cancelled.status(), 204);
  await unfinished.waitFor({ state: 'detached', timeout: 10_000 });
  // Gone on the server too: its parts, and its record says it was cancelled.
  const after = await discardPage.request.get(`${BASE_URL}/api/uploads/${id}/parts`,
    { headers: { authorization: `Bearer ${token}` } });
  assert.equal(after.status(), 410, await after.text());
  assert.equal((await after.json()).error, 'upload_gone');
  await discardPage.close();
});
