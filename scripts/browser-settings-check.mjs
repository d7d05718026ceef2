#!/usr/bin/env node
// The first run of a new user, in the real Jean2 web client served by jean2 itself (issue 13):
// open the client on jean2's port with an empty data dir (no "add server" step), add an API key
// in Settings → Credentials, see the models become usable, create / edit / delete a preconfig and
// a prompt, look at the Models, Tools and Environment panels, chat (against a fake provider on
// loopback), and reload a deep link. Screenshots go to OUT; every error toast, page error and
// failed /api request is listed at the end, and the exit code is 1 if there was any.
//
// Not run by CI (it needs Chromium and the built client). Usage:
//   apt-get install -y chromium; (cd /some/scratch && npm i playwright-core)
//   cargo build --bin jean2
//   PLAYWRIGHT_DIR=/some/scratch CLIENT_DIR=/path/to/jean2-client-dist OUT=/tmp/shots \
//     node scripts/browser-settings-check.mjs
// Optional: JEAN2_BIN (default target/debug/jean2), PORT (default 8742: the client discovers
// localhost:8742 by itself; any other port shows the add-server screen), CHROMIUM
// (default /usr/bin/chromium).

import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

const require = createRequire(path.join(process.env.PLAYWRIGHT_DIR ?? process.cwd(), 'x.js'));
const { chromium } = require('playwright-core');

const OUT = process.env.OUT ?? '/tmp/jean2-settings-shots';
const PORT = Number(process.env.PORT ?? 8742);
const BIN = process.env.JEAN2_BIN ?? path.resolve('target/debug/jean2');
const CLIENT_DIR = process.env.CLIENT_DIR;
if (!CLIENT_DIR) throw new Error('set CLIENT_DIR to a built Jean2 web client');
fs.mkdirSync(OUT, { recursive: true });

const problems = [];
const note = (msg) => console.log(`[check] ${msg}`);

// A fake OpenAI-compatible provider on loopback: streams a short reply, and a title.
function fakeProvider() {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const asked = JSON.parse(body || '{}');
      const isTitle = JSON.stringify(asked.messages ?? []).includes('title');
      const words = isTitle ? ['First chat'] : ['Hello', ' from', ' the', ' fake', ' provider.'];
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const chunk = (delta, finish) => ({ id: 'c1', object: 'chat.completion.chunk', model: asked.model,
        choices: [{ index: 0, delta, finish_reason: finish ?? null }] });
      for (const w of words) res.write(`data: ${JSON.stringify(chunk({ content: w }))}\n\n`);
      res.write(`data: ${JSON.stringify(chunk({}, 'stop'))}\n\n`);
      res.write(`data: ${JSON.stringify({ id: 'c1', choices: [], usage: { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 } })}\n\n`);
      res.end('data: [DONE]\n\n');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function waitHealthy(url) {
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(`${url}/api/health`)).ok) return; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('jean2 did not answer');
}

const provider = await fakeProvider();
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jean2-first-run-'));
const jean2 = spawn(BIN, ['server', '-p', String(PORT)], {
  env: { PATH: process.env.PATH, HOME: dataDir, JEAN2_DATA_DIR: dataDir, JEAN2_CLIENT_DIR: CLIENT_DIR,
    JEAN2_LLM_BASE_URL: `http://127.0.0.1:${provider.address().port}/v1` },
  stdio: ['ignore', fs.openSync(path.join(OUT, 'jean2.log'), 'w'), 'inherit'],
});
const base = `http://localhost:${PORT}`;
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
try {
  await waitHealthy(base);
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('response', (r) => {
    if (r.url().includes('/api/') && r.status() >= 400) problems.push(`${r.request().method()} ${r.url()} → ${r.status()}`);
  });
  // Every toast the client shows, as it appears.
  await page.exposeFunction('reportToast', (type, text) => {
    note(`toast (${type}): ${text}`);
    if (type === 'error') problems.push(`error toast: ${text}`);
  });
  await page.addInitScript(() => {
    const seen = new WeakSet();
    new MutationObserver(() => {
      document.querySelectorAll('[data-sonner-toast]').forEach((t) => {
        if (seen.has(t)) return;
        seen.add(t);
        window.reportToast(t.getAttribute('data-type') ?? '', t.textContent ?? '');
      });
    }).observe(document, { childList: true, subtree: true });
  });
  // A preconfig's row in the list, by its exact name.
  const preconfigRow = (name) => page.locator('div.rounded-lg.border.cursor-pointer')
    .filter({ has: page.getByText(name, { exact: true }) });
  const shot = async (name) => { await page.screenshot({ path: path.join(OUT, `${name}.png`) }); note(`screenshot ${name}.png`); };
  const tab = async (label) => {
    await page.getByRole('tab', { name: label }).click();
    await page.waitForTimeout(600);
  };

  // 1. First visit: the client finds jean2 at localhost:8742 by itself.
  await page.goto(`${base}/`);
  await page.getByText('Home', { exact: true }).first().waitFor({ timeout: 15000 });
  await shot('01-landing-home-added');
  await page.getByText('Home', { exact: true }).first().click();
  await page.waitForURL(/\/server\//, { timeout: 15000 });
  await page.waitForTimeout(1500);
  await shot('02-server-no-key');
  const before = await (await fetch(`${base}/api/models`)).json();
  note(`usable models before the key: ${before.models.filter((m) => m.runtimeStatus.usable).length}`);

  // 2. Settings → Credentials: set an OpenAI key.
  await page.locator('header button:has(svg.lucide-settings)').last().click();
  await page.getByRole('dialog').waitFor();
  await tab('Credentials');
  const row = page.locator('div.p-3.rounded-lg.border').filter({ has: page.getByText('OpenAI', { exact: true }) });
  await row.getByRole('button', { name: 'Set Key' }).click();
  await page.getByPlaceholder('Enter API key...').fill('sk-browser-check-key');
  await page.getByPlaceholder('Enter API key...').press('Enter');
  await row.getByText('Configured').waitFor({ timeout: 10000 });
  await shot('03-credentials-openai-configured');
  const after = await (await fetch(`${base}/api/models`)).json();
  note(`usable models after the key: ${after.models.filter((m) => m.runtimeStatus.usable).map((m) => m.id).join(', ')}`);
  if (!after.models.some((m) => m.providerId === 'openai' && m.runtimeStatus.usable)) problems.push('OpenAI models did not become usable');

  // 3. Models, Tools, Environment panels.
  await tab('Models');
  await shot('04-models');
  await tab('Tools');
  await shot('05-tools');
  await tab('Environment');
  await shot('06-environment');

  // 4. Preconfigs: create, edit, delete.
  await tab('Preconfigs');
  await page.getByRole('button', { name: 'New Preconfig' }).click();
  await page.getByPlaceholder('My Agent').fill('Browser Reviewer');
  await page.getByPlaceholder('Description...').fill('Made in the browser check');
  await page.getByPlaceholder('System prompt content...').fill('You review code: be precise.');
  await shot('07-preconfig-new');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Browser Reviewer').waitFor();
  await shot('08-preconfig-created');
  await preconfigRow('Browser Reviewer').getByTitle('Edit preconfig').click();
  await page.getByPlaceholder('Description...').fill('Edited in the browser check');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Edited in the browser check').waitFor();
  await shot('09-preconfig-edited');
  await preconfigRow('Browser Reviewer').getByTitle('Duplicate preconfig').click();
  await preconfigRow('Browser Reviewer Copy').waitFor();
  for (const name of ['Browser Reviewer Copy', 'Browser Reviewer']) {
    await preconfigRow(name).getByTitle('Delete preconfig').click();
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await preconfigRow(name).waitFor({ state: 'detached', timeout: 10000 });
  }
  await shot('10-preconfigs-after-delete');
  const files = fs.readdirSync(path.join(dataDir, 'preconfigs'));
  note(`preconfig files: ${files.join(', ')}`);

  // 5. Prompts: create one.
  await tab('Prompts');
  await page.getByRole('button', { name: 'New Prompt' }).first().click();
  await page.getByPlaceholder('prompt-name').fill('code-review');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('code-review').first().waitFor();
  await shot('11-prompts');

  // 6. Close Settings (the client reloads its data), pick a model, chat.
  await page.keyboard.press('Escape');
  await page.waitForTimeout(1500);
  await shot('12-after-settings');
  await page.getByText('New Chat', { exact: true }).first().click();
  await page.waitForTimeout(1000);
  const input = page.locator('textarea').first();
  await input.click();
  await input.fill('Hello there');
  await input.press('Enter');
  await page.getByText('Hello from the fake provider.').first().waitFor({ timeout: 20000 });
  await page.waitForTimeout(1500);
  await shot('13-chat');
  await page.getByText(/GPT-5\.6 Sol/).first().click();
  await page.waitForTimeout(800);
  await shot('13b-model-picker');
  await page.keyboard.press('Escape');

  // 7. Reload the deep link: the history fallback serves the app again.
  const deep = page.url();
  await page.reload();
  await page.getByText('Hello from the fake provider.').first().waitFor({ timeout: 20000 });
  await shot('14-reloaded');
  note(`reloaded ${deep}`);
} catch (e) {
  problems.push(`step failed: ${e.message.split('\n')[0]}`);
  try { await (await browser.contexts()[0]?.pages()[0])?.screenshot({ path: path.join(OUT, 'failure.png') }); } catch { /* none */ }
} finally {
  await browser.close();
  jean2.kill('SIGTERM');
  provider.close();
}
console.log(problems.length ? `PROBLEMS:\n- ${problems.join('\n- ')}` : 'no error toast, page error or failed /api request');
process.exit(problems.length ? 1 : 0);
