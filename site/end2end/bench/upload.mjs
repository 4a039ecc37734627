// Used by infra/bench: uploads BENCH_FILE through the site in headless Chromium and prints the
// browser's pid (so that the benchmark can sample its memory) and the upload's duration.
import { chromium } from 'playwright-core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { execFileSync } from 'node:child_process';

const BASE_URL = process.env.E2E_BASE_URL;
const file = process.env.BENCH_FILE;
const profile = mkdtempSync(join(tmpdir(), 'twinshare-bench-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--no-first-run', '--disable-quic', '--disable-sync'],
});
// The browser process is the one started with this profile.
const pid = execFileSync('pgrep', ['-o', '-f', `user-data-dir=${profile}`]).toString().trim();
console.log(`chromium pid ${pid}`);
const page = await context.newPage();
await page.goto(BASE_URL + '/');
const started = Date.now();
await page.setInputFiles('input[type=file]', file);
await page.locator('li.upload', { hasText: basename(file) }).locator('.state.done').waitFor({ timeout: 900_000 });
console.log(`uploaded in ${(Date.now() - started) / 1000}`);
await context.close();
