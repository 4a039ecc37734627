// Debian's Chromium, headless, as the machines here run it (a test tool's own browser cannot be
// downloaded offline).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chromium } from 'playwright-core';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BASE_URL = process.env.E2E_BASE_URL ?? 'http://127.0.0.1:8080';

/** The site's upload code when the stack runs with UploadMode=code (infra/test sets it). */
export const UPLOAD_CODE = process.env.E2E_UPLOAD_CODE ?? null;
/** The headers an upload announcement made outside the browser carries. */
export const UPLOAD_HEADERS = UPLOAD_CODE ? { 'x-upload-code': UPLOAD_CODE } : {};

/** A browser whose tabs hold the upload code, as after the share page asked for it once; with
 * `{ uploadCode: null }`, one that has not been given it. */
export async function launch({ uploadCode = UPLOAD_CODE } = {}) {
  const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'twinshare-chromium-')), {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    acceptDownloads: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-quic', '--disable-sync'],
  });
  if (uploadCode) {
    await context.addInitScript((code) => sessionStorage.setItem('twinshare.upload-code', code), uploadCode);
  }
  return context;
}

/** The local stack's regions, as infra/local/stack.py writes them: name -> { metadata, storage, api }. */
export const REGIONS = JSON.parse(readFileSync(process.env.E2E_REGIONS ?? '../../.local/regions.json', 'utf8'));

/** Waits until each region's own API finds `count` files for the search `words`. Each region
 * reads its own replica of the search index, which replicates apart from the records, and the
 * front answers a read from the second region whenever the primary is slow (2 s): a test that
 * reads the table right after sharing would otherwise see a region that has not caught up. */
export async function searchableInEveryRegion(words, count, within = 90_000) {
  const deadline = Date.now() + within;
  for (const [name, region] of Object.entries(REGIONS)) {
    for (;;) {
      const answer = await fetch(`${region.api}/api/files?limit=100&q=${encodeURIComponent(words)}`).catch(() => null);
      const found = answer?.status === 200 ? (await answer.json()).files.length : -1;
      if (found === count) break;
      assert.ok(Date.now() < deadline, `${name} finds ${found} files for "${words}", not ${count}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/** Announces, PUTs and completes one listed file through the API, as a program would. Returns
 * { id, name, size }. */
export async function shareViaApi(name, bytes) {
  const sha256 = createHash('sha256').update(bytes).digest('base64');
  const announce = await fetch(`${BASE_URL}/api/uploads`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...UPLOAD_HEADERS },
    body: JSON.stringify({ name, size: bytes.length, content_type: 'text/plain', sha256, visibility: 'listed' }),
  });
  assert.equal(announce.status, 201, await announce.clone().text());
  const created = await announce.json();
  const { url, headers } = created.upload;
  const signed = Object.fromEntries(Object.entries(headers).filter(([k]) => !['host', 'content-length'].includes(k)));
  const put = await fetch(url, { method: 'PUT', headers: signed, body: bytes });
  assert.equal(put.status, 200, await put.text());
  const complete = await fetch(`${BASE_URL}/api/uploads/${created.file.id}/complete`, {
    method: 'POST',
    headers: { authorization: `Bearer ${created.manage_token}` },
  });
  assert.equal(complete.status, 200, await complete.text());
  return { id: created.file.id, name, size: bytes.length, token: created.manage_token };
}

/** Clicks a download link and returns what the browser saved: { bytes, name }. */
export async function downloadFrom(page, locator) {
  const [download] = await Promise.all([page.waitForEvent('download'), locator.click()]);
  return { bytes: readFileSync(await download.path()), name: download.suggestedFilename() };
}
