#!/usr/bin/env node
// The session operations of issue 15 in the real Jean2 web client served by jean2: chat twice,
// edit and resubmit the first question, compact, fork from a response, revert, and regenerate
// the title from the session menu. Screenshots go to OUT; every error toast, page error and
// failed /api request is listed at the end, and the exit code is 1 if there was any.
//
// Not run by CI (it needs Chromium and the built client). Usage as scripts/browser-settings-check.mjs:
//   cargo build --bin jean2
//   PLAYWRIGHT_DIR=/some/scratch CLIENT_DIR=/path/to/jean2-client-dist OUT=/tmp/shots \
//     node scripts/browser-session-ops-check.mjs
// Optional: JEAN2_BIN (default target/debug/jean2), PORT (default 8742), CHROMIUM.

import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

const require = createRequire(path.join(process.env.PLAYWRIGHT_DIR ?? process.cwd(), 'x.js'));
const { chromium } = require('playwright-core');

const OUT = process.env.OUT ?? '/tmp/jean2-session-ops-shots';
const PORT = Number(process.env.PORT ?? 8742);
const BIN = process.env.JEAN2_BIN ?? path.resolve('target/debug/jean2');
const CLIENT_DIR = process.env.CLIENT_DIR;
if (!CLIENT_DIR) throw new Error('set CLIENT_DIR to a built Jean2 web client');
fs.mkdirSync(OUT, { recursive: true });

const problems = [];
const note = (msg) => console.log(`[check] ${msg}`);

// A fake OpenAI-compatible provider: answers each question by number, titles, and summaries.
function fakeProvider() {
  let n = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const asked = JSON.parse(body || '{}');
      const first = String(asked.messages?.[0]?.content ?? '');
      let text;
      if (first.startsWith('Summarize the conversation below')) text = 'Summary: two questions were answered.';
      else if (JSON.stringify(asked.messages ?? []).includes('title')) text = `Title number ${++n}`;
      else text = `Answer ${asked.messages.filter((m) => m.role === 'user').length}.`;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const chunk = (delta, finish) => ({ id: 'c1', object: 'chat.completion.chunk', model: asked.model,
        choices: [{ index: 0, delta, finish_reason: finish ?? null }] });
      for (const w of text.split(/(?= )/)) res.write(`data: ${JSON.stringify(chunk({ content: w }))}\n\n`);
      res.write(`data: ${JSON.stringify(chunk({}, 'stop'))}\n\n`);
      res.write(`data: ${JSON.stringify({ id: 'c1', choices: [], usage: { prompt_tokens: 50, completion_tokens: 5, total_tokens: 55 } })}\n\n`);
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
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jean2-session-ops-'));
const jean2 = spawn(BIN, ['server', '-p', String(PORT)], {
  env: { PATH: process.env.PATH, HOME: dataDir, JEAN2_DATA_DIR: dataDir, JEAN2_CLIENT_DIR: CLIENT_DIR,
    JEAN2_LLM_BASE_URL: `http://127.0.0.1:${provider.address().port}/v1`, JEAN2_LLM_OPENAI_API_KEY: 'sk-check' },
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
  const shot = async (name) => { await page.screenshot({ path: path.join(OUT, `${name}.png`) }); note(`screenshot ${name}.png`); };
  const visible = (text) => page.getByText(text, { exact: false }).first().waitFor({ timeout: 20000 });
  const send = async (text) => {
    const input = page.locator('textarea').last();
    await input.click();
    await input.fill(text);
    await input.press('Enter');
  };
  // A message action: the button titled `title` of the message holding `text` (the deepest
  // element holding both is the message's own block).
  const action = async (text, title) => {
    const message = page.locator('div')
      .filter({ has: page.getByText(text, { exact: true }) })
      .filter({ has: page.locator(`button[title="${title}"]`) })
      .last();
    await message.hover();
    await message.locator(`button[title="${title}"]`).first().click();
  };
  const confirm = async (label) => {
    await page.getByRole('button', { name: label }).last().click();
  };

  await page.goto(`${base}/`);
  await page.getByText('Home', { exact: true }).first().waitFor({ timeout: 15000 });
  await page.getByText('Home', { exact: true }).first().click();
  await page.waitForURL(/\/server\//, { timeout: 15000 });
  await page.waitForTimeout(1500);
  await page.getByText('New Chat', { exact: true }).first().click();
  await page.waitForTimeout(1000);

  // 1. Two turns.
  await send('First question');
  await visible('Answer 1.');
  await send('Second question');
  await visible('Answer 2.');
  await page.waitForTimeout(1000);
  await shot('01-two-turns');

  // 2. Edit and resubmit the first question: the second turn goes, a new answer comes.
  await action('First question', 'Edit and resubmit');
  // The editor opens in place of the bubble, above the chat input.
  const editor = page.locator('textarea').first();
  await editor.fill('Edited question');
  await page.getByRole('button', { name: 'Send', exact: true }).first().click();
  await visible('Edited question');
  await page.getByText('Second question').first().waitFor({ state: 'detached', timeout: 20000 });
  await visible('Answer 1.');
  await page.waitForTimeout(1000);
  await shot('02-edited');

  // 3. One more turn, then compact from the header.
  await send('Third question');
  await visible('Answer 2.');
  await page.waitForTimeout(1000);
  await page.locator('button:has(svg[class*="minimize"])').first().click();
  await page.waitForTimeout(2500);
  await shot('03-compacted');

  // 4. Fork from the last answer: the client opens the fork.
  const before = page.url();
  await action('Answer 2.', 'Fork from this response');
  await confirm('Create fork');
  await page.waitForURL((u) => u.toString() !== before, { timeout: 20000 });
  await visible('(fork)');
  await page.waitForTimeout(1000);
  await shot('04-forked');

  // 5. Revert the fork from the third question (the client reverts to the message before it).
  await action('Third question', 'Revert to this point');
  await confirm(/^(Revert|Clear All)$/);
  await page.getByText('Third question').first().waitFor({ state: 'detached', timeout: 20000 });
  await visible('Answer 1.');
  await page.waitForTimeout(1000);
  await shot('05-reverted');

  // 6. Regenerate the title from the session menu in the sidebar.
  const row = page.locator('[data-sidebar="menu-item"]').filter({ hasText: '(fork)' }).first();
  await row.hover();
  await row.getByRole('button', { name: 'Session actions' }).click({ force: true });
  await page.getByRole('menuitem', { name: 'Regenerate title' }).click();
  await visible('Title number');
  await page.waitForTimeout(1000);
  await shot('06-title');

  const sessions = await (await fetch(`${base}/api/sessions`)).json();
  note(`sessions: ${sessions.sessions.map((s) => s.title).join(' | ')}`);
} catch (e) {
  problems.push(`script failed: ${e.message}`);
} finally {
  await browser.close();
  jean2.kill('SIGTERM');
  provider.close();
}
if (problems.length) {
  console.log(`\n${problems.length} problem(s):`);
  for (const p of problems) console.log(`  - ${p}`);
  process.exit(1);
}
console.log('\nno error toast, no page error, no failed request');
