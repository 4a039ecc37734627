// The release build of the site (what a deployment publishes) starts in Chromium: served as
// static files from site/dist, the share page renders and no script error is thrown.
// Used by infra/test; the end-to-end tests run against the development build.
import { chromium } from 'playwright-core';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';

const dist = new URL('../dist/', import.meta.url).pathname;
const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css' };
const server = createServer(async (request, response) => {
  const path = normalize(decodeURIComponent(new URL(request.url, 'http://x').pathname));
  const file = join(dist, extname(path) ? path : 'index.html');
  try {
    const body = await readFile(file);
    response.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(body);
  } catch {
    response.writeHead(404).end();
  }
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
});
const errors = [];
try {
  const page = await browser.newPage();
  page.on('pageerror', (err) => errors.push(String(err)));
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  await page.locator('input[type=file]').waitFor({ state: 'attached', timeout: 15_000 });
  if (errors.length) throw new Error(`the release site threw: ${errors.join('; ')}`);
  console.log('release site: the share page renders without errors');
} finally {
  await browser.close();
  server.close();
}
