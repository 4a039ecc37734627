// Debian's Chromium, headless, as the machines here run it (a test tool's own browser cannot be
// downloaded offline).
import { chromium } from 'playwright-core';
import { mkdtempSync } from 'node:fs';
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
