// Losing a whole region, in Chromium against the local stack: the primary region's tables and
// bucket go down together (infra/local/region.py's switches, read from regions.json), and the
// site keeps finding, downloading and sharing files through the second region, saying so; a
// file shared meanwhile gets its second copy in the primary region when it is back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, shareViaApi, downloadFrom, searchableInEveryRegion, BASE_URL, REGIONS } from './browser.mjs';

const [PRIMARY, SECOND] = Object.keys(REGIONS);
const run = randomBytes(4).toString('hex');
const bytes = randomBytes(20_000);
let file;
let context;
let page;

/** Sets every fault switch of a region: "down" or "ok" (as infra/local/region.py does). */
async function region(name, mode) {
  for (const part of ['metadata', 'storage']) {
    const answer = await fetch(`${REGIONS[name][part]}/__twinshare/fault`, { method: 'PUT', body: mode });
    assert.equal(answer.status, 200);
  }
}

/** Polls the second region's own API until it holds the file with both copies verified. */
async function redundantInSecondRegion(id) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const answer = await fetch(`${REGIONS[SECOND].api}/api/files/${id}`).catch(() => null);
    if (answer?.status === 200 && (await answer.json()).status === 'redundant') return;
    assert.ok(Date.now() < deadline, `the second region does not hold ${id} as redundant`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

// An upload in parts begun on the page while both regions answer, whose page went away before
// any part was stored: its upload lives in the primary region, stranded once that goes down.
const strandedBytes = randomBytes(40 * 1024 * 1024);
const strandedPath = join(mkdtempSync(join(tmpdir(), 'twinshare-')), `stranded ${run}.bin`);
let stranded;

/** Starts the upload in parts on the page, holding its parts back, then leaves the page. */
async function strandUploadInParts() {
  writeFileSync(strandedPath, strandedBytes);
  const holdParts = (url) => url.searchParams.has('partNumber');
  await page.route(holdParts, (route) => route.abort());
  await page.goto(BASE_URL + '/');
  const [created] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/uploads') && r.request().method() === 'POST'),
    page.setInputFiles('input[type=file]', strandedPath),
  ]);
  const answer = await created.json();
  assert.equal(answer.upload.kind, 'multipart');
  stranded = { id: answer.file.id, token: answer.manage_token };
  // Remembered by the browser once the row counts its parts.
  await page.locator('ul.uploads li.upload', { hasText: `stranded ${run}` }).locator('text=/of \\d+ parts/').waitFor();
  await page.goto(BASE_URL + '/status');
  await page.unroute(holdParts);
  // The second region knows the upload (and refuses to resume it, not being its home) before
  // the primary goes down.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const answer = await fetch(`${REGIONS[SECOND].api}/api/uploads/${stranded.id}/parts`, {
      headers: { authorization: `Bearer ${stranded.token}` },
    }).catch(() => null);
    if (answer?.status === 503) return;
    assert.ok(Date.now() < deadline, `the second region does not know upload ${stranded.id}: ${answer?.status}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

before(async () => {
  file = await shareViaApi(`far away ${run}.bin`, bytes);
  await redundantInSecondRegion(file.id);
  // Its search items too: a region that is down replicates nothing more, as on AWS.
  await searchableInEveryRegion(run, 1);
  context = await launch();
  page = await context.newPage();
  page.on('pageerror', (err) => console.error('page error:', err));
  await strandUploadInParts();
  await region(PRIMARY, 'down');
});
after(async () => {
  await region(PRIMARY, 'ok');
  await context?.close();
  // The tests after these upload: wait until the primary answers and its probe saw it back.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const answer = await fetch(`${BASE_URL}/api/status`).catch(() => null);
    const status = answer?.status === 200 ? await answer.json() : null;
    if (status?.served_by === PRIMARY && status.regions.every((r) => r.status === 'up')) return;
    assert.ok(Date.now() < deadline, `the primary region is not back: ${JSON.stringify(status)}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
});

test('with the primary region down, search finds the file and the banner says where the page comes from', async () => {
  await page.goto(BASE_URL + '/files');
  await page.fill('input[type=search]', run);
  await page.waitForFunction(() => document.querySelectorAll('tr.file').length === 1, null, { timeout: 30_000 });
  assert.match(await page.locator('tr.file').innerText(), new RegExp(`far away ${run}`));
  const banner = page.locator('p.banner');
  await banner.waitFor({ timeout: 30_000 });
  const text = await banner.innerText();
  assert.match(text, new RegExp(`${PRIMARY} is not answering: this page comes from ${SECOND}`));
  assert.match(text, new RegExp(`sharing files works: new files are kept in ${SECOND}`));
});

test("the file's page downloads the same bytes from the second region's copy", async () => {
  await page.goto(`${BASE_URL}/f/${file.id}`);
  const { bytes: got, name } = await downloadFrom(page, page.locator('a.download'));
  assert.equal(name, file.name);
  assert.ok(got.equals(bytes), 'the same bytes');
});

test("the status page names the region that answered, and the primary's API and metadata as down", async () => {
  await page.goto(BASE_URL + '/status');
  await page.locator('p.served-by', { hasText: SECOND }).waitFor({ timeout: 30_000 });
  // The primary's probe cannot report while its table is down: once its last report is older
  // than the health window, its API and metadata show as down.
  const primaryApi = page.locator('tr.region', { hasText: PRIMARY }).locator('.badge.api');
  await page.waitForFunction((el) => el.textContent === 'down', await primaryApi.elementHandle(), { timeout: 60_000 });
  const secondApi = page.locator('tr.region', { hasText: SECOND }).locator('.badge.api');
  assert.equal(await secondApi.innerText(), 'up');
});

const outageBytes = randomBytes(30_000);
let outageId;

test('with the primary region down, a file shared on the page is kept in the second region and downloads', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'twinshare-')), `shared in the outage ${run}.bin`);
  writeFileSync(path, outageBytes);
  await page.goto(BASE_URL + '/');
  await page.setInputFiles('input[type=file]', path);
  const row = page.locator('li.upload', { hasText: `shared in the outage ${run}` });
  await row.locator('.state.done').waitFor({ timeout: 60_000 });
  const link = await row.locator('a.share-link').innerText();
  outageId = link.split('/f/')[1];
  const there = await (await fetch(`${REGIONS[SECOND].api}/api/files/${outageId}`)).json();
  assert.equal(there.home_region, SECOND, 'the second region took it');
  await page.goto(link);
  const { bytes: got } = await downloadFrom(page, page.locator('a.download'));
  assert.ok(got.equals(outageBytes), 'the same bytes, at once');
});

test('an upload in parts stranded in the primary region says so, and starts again in the second on request', async () => {
  await page.goto(BASE_URL + '/');
  const unfinished = page.locator('.unfinished-upload', { hasText: `stranded ${run}` });
  await unfinished.waitFor({ timeout: 10_000 });
  // Choosing the file again tries to resume it: its home region does not answer.
  await page.setInputFiles('input[type=file]', strandedPath);
  const row = page.locator('ul.uploads li.upload', { hasText: `stranded ${run}` });
  const alert = row.locator('[role=alert]');
  await alert.waitFor({ timeout: 30_000 });
  assert.match(await alert.innerText(), new RegExp(`home region ${PRIMARY}.*start again in the other region`));
  await row.locator('button.restart').click();
  await row.locator('.state.done').waitFor({ timeout: 120_000 });
  const id = (await row.locator('a.share-link').innerText()).split('/f/')[1];
  assert.notEqual(id, stranded.id, 'a new upload');
  const there = await (await fetch(`${REGIONS[SECOND].api}/api/files/${id}`)).json();
  assert.equal(there.home_region, SECOND, 'the second region took it');
  assert.equal(there.size, strandedBytes.length);
  assert.equal(await unfinished.count(), 0, 'the stranded upload is no longer offered to resume');
});

test('when the primary region is back, the file shared meanwhile gets its copy there', async () => {
  // Its page, open while the primary is still down, shows one copy, and then two without a reload.
  await page.goto(`${BASE_URL}/f/${outageId}`);
  await page.getByText(/Stored in 1 region/).waitFor({ timeout: 30_000 });
  await region(PRIMARY, 'ok');
  await page.getByText('Stored in 2 regions').waitFor({ timeout: 90_000 });
  const deadline = Date.now() + 90_000;
  for (;;) {
    const answer = await fetch(`${REGIONS[PRIMARY].api}/api/files/${outageId}`).catch(() => null);
    if (answer?.status === 200 && (await answer.json()).status === 'redundant') return;
    assert.ok(Date.now() < deadline, `${outageId} is not redundant in ${PRIMARY}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
});
