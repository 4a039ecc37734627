// A site in UploadMode=code, as a newcomer meets it: the share page asks for the upload code
// before offering to upload, a wrong code is refused with a sentence and asked for again, the
// right one is kept for the tab. Runs only against a stack in code mode (infra/test's).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, BASE_URL, UPLOAD_CODE } from './browser.mjs';
import { expectAccessible } from './axe.mjs';

const run = randomBytes(4).toString('hex');
const dir = mkdtempSync(join(tmpdir(), 'twinshare-e2e-code-'));

let context;
let page;
let mode;
before(async () => {
  mode = (await (await fetch(`${BASE_URL}/api/status`)).json()).uploads.mode;
  context = await launch({ uploadCode: null });
  page = await context.newPage();
  page.on('pageerror', (err) => console.error('page error:', err));
});
after(async () => context?.close());

test('the share page asks for the upload code, refuses a wrong one, and keeps the right one', async (t) => {
  if (mode !== 'code' || !UPLOAD_CODE) return t.skip(`the stack's upload mode is ${mode}`);
  await page.goto(BASE_URL + '/');
  const prompt = page.locator('form.upload-code');
  await prompt.waitFor();
  assert.equal(await page.locator('input[type=file]').count(), 0, 'no file input before the code');
  await expectAccessible(page, 'the upload code prompt');

  const name = `with the code ${run}.txt`;
  writeFileSync(join(dir, name), `shared with the code ${run}\n`);
  await prompt.getByLabel('Upload code').fill('not-the-code');
  await prompt.getByRole('button', { name: 'Use this code' }).click();
  await page.setInputFiles('input[type=file]', join(dir, name));
  const refused = page.locator('li.upload', { hasText: name }).locator('.state.error');
  await refused.waitFor({ timeout: 30_000 });
  assert.match(await refused.textContent(), /upload code is not this site's/);
  await prompt.waitFor();

  await prompt.getByLabel('Upload code').fill(UPLOAD_CODE);
  await prompt.getByRole('button', { name: 'Use this code' }).click();
  await page.setInputFiles('input[type=file]', join(dir, name));
  await page.locator('li.upload', { hasText: name }).locator('.state.done').waitFor({ timeout: 30_000 });

  // Kept for the tab: a reload goes straight to the file input.
  await page.reload();
  await page.locator('input[type=file]').waitFor();
  assert.equal(await prompt.count(), 0);
});
