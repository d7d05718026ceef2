#!/usr/bin/env node
// The agent in the real Jean2 web client served by jean2 (issue 11, "Done means"): a folder
// workspace on a small project made in a temp dir, the `code` preconfig (picked in the chat
// header), and a fake OpenAI-compatible provider on loopback that scripts tool calls (streamed
// `tool_calls` deltas, `finish_reason: "tool_calls"`, then the next step's text). What it answers
// depends on a keyword of the last user message and on the tool steps since, so it never drifts.
//   1. read-file inside the workspace: no ask, the card completes, the answer uses the file, and
//      the two-step turn's events come in the PROTOCOL-AGENT §8.3 order;
//   2. an edit outside the workspace: the ask shows inside the tool card, "Allow Once" is clicked,
//      the file changes on disk; an edit of the workspace's .env (sensitive): "Block" (the deny
//      button) is clicked, the card shows USER_REJECTION and so does the next provider request;
//      then a reload while such an ask is open: the ask comes back in its card and still works;
//   3. shell `cat README.md`: the next provider request carries its output, the answer uses it;
//   4. shell `sleep 30`, a reload while it runs, then the Stop button: the turn ends at once, the
//      `sleep` process is gone, and the §8.4 interrupt events; 4b. Stop while an ask is open;
//   6. a follow-up typed while a reply streams (the client sends queue.add): it shows as Pending,
//      then runs after the reply;
//   5. a final reload shows every tool card with the status it had, and the same token usage.
// Screenshots, the WebSocket frames (ws-frames.jsonl), the provider's requests
// (provider-requests.jsonl) and jean2's log go to OUT. Every failed check, error toast, page error,
// console error and failed /api request is listed at the end with the step it happened in; the
// exit code is 1 if there was any. Requests a reload cut short (net::ERR_ABORTED) and the
// browser's "ResizeObserver loop" notice are listed as notes only.
//
// Not run by CI (it needs Chromium and the built client). Usage:
//   apt-get install -y chromium; (cd /some/scratch && npm i playwright-core)
//   cargo build --bin jean2
//   PLAYWRIGHT_DIR=/some/scratch CLIENT_DIR=/path/to/jean2-client-dist OUT=/tmp/jean2-agent-shots \
//     node scripts/browser-agent-check.mjs
// Optional: JEAN2_BIN (default target/debug/jean2), PORT (default 8742: the client discovers
// localhost:8742 by itself), CHROMIUM (default /usr/bin/chromium), KEEP=1 keeps the temp dirs.

import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

const require = createRequire(path.join(process.env.PLAYWRIGHT_DIR ?? process.cwd(), 'x.js'));
const { chromium } = require('playwright-core');

const OUT = process.env.OUT ?? '/tmp/jean2-agent-shots';
const PORT = Number(process.env.PORT ?? 8742);
const BIN = process.env.JEAN2_BIN ?? path.resolve('target/debug/jean2');
const CLIENT_DIR = process.env.CLIENT_DIR;
if (!CLIENT_DIR) throw new Error('set CLIENT_DIR to a built Jean2 web client');
fs.rmSync(OUT, { recursive: true, force: true });
fs.mkdirSync(OUT, { recursive: true });

const problems = [];
const passed = [];
const notes = [];
// The step running now, so every problem says where it happened.
let phase = 'setup';
const note = (msg) => console.log(`[check] ${msg}`);
const problem = (msg) => { problems.push(`[${phase}] ${msg}`); note(`PROBLEM: ${msg}`); };
const check = (ok, what, evidence = '') => {
  if (ok) { passed.push(what); note(`ok: ${what}`); } else { problem(`FAILED: ${what}${evidence ? ` (${evidence})` : ''}`); }
  return ok;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// The project: a workspace folder with a README and a buggy source file, a file outside it.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'jean2-agent-check-'));
const dataDir = path.join(tmp, 'data');
const project = path.join(tmp, 'demo-project');
const outside = path.join(tmp, 'outside-lib');
for (const d of [dataDir, path.join(project, 'src'), outside]) fs.mkdirSync(d, { recursive: true });
const README_MARK = 'MARKER-README-7731';
fs.writeFileSync(path.join(project, 'README.md'), `# Demo project\n\nA tiny calculator (${README_MARK}).\nRun: python3 src/calc.py\n`);
fs.writeFileSync(path.join(project, 'src', 'calc.py'), 'def add(a, b):\n    return a - b  # bug\n\nprint(add(2, 3))\n');
fs.writeFileSync(path.join(project, '.env'), 'DEBUG=false\n');
const outsideFile = path.join(outside, 'util.py');
fs.writeFileSync(outsideFile, 'def double(x):\n    return x * 3  # bug\n');

// ---------------------------------------------------------------------------------------------
// The fake provider. What it answers depends on the last user message (a scenario keyword) and
// on how many tool steps already happened since it (assistant messages after it), so a retry or
// a reload never desynchronises it.
const requests = [];
let callCounter = 0;
const textOf = (m) => (typeof m?.content === 'string' ? m.content
  : Array.isArray(m?.content) ? m.content.map((p) => p.text ?? '').join('') : '');

const scenarios = {
  'read the readme': [
    { tool: 'read-file', args: { path: 'README.md' } },
    (tool) => tool.includes(README_MARK) ? `I read README.md: it mentions ${README_MARK}.` : 'The README content did not reach me.',
  ],
  'fix the outside helper': [
    { tool: 'edit', args: { path: outsideFile, oldString: 'return x * 3', newString: 'return x * 2' } },
    (tool) => tool.includes('USER_REJECTION') ? 'You denied the outside edit.' : 'I fixed the outside helper.',
  ],
  'touch the outside helper': [
    { tool: 'write-file', args: { path: outsideFile, content: 'def double(x):\n    return 2 * x\n' } },
    () => 'The write went through (it should have been interrupted).',
  ],
  'turn on debug again': [
    { tool: 'edit', args: { path: '.env', oldString: 'DEBUG=false', newString: 'DEBUG=true' } },
    (tool) => tool.includes('USER_REJECTION') ? 'Denied again.' : 'Debug is on.',
  ],
  'turn on debug': [
    { tool: 'edit', args: { path: '.env', oldString: 'DEBUG=false', newString: 'DEBUG=true' } },
    (tool) => tool.includes('USER_REJECTION') ? 'Understood: you denied the .env edit (USER_REJECTION seen).' : 'Debug is on.',
  ],
  'run cat': [
    { tool: 'shell', args: { command: 'cat README.md' } },
    (tool) => tool.includes(README_MARK) ? `The command printed the README; it says ${README_MARK}.` : 'The command output did not reach me.',
  ],
  'wait a while': [
    { tool: 'shell', args: { command: 'sleep 30' } },
    () => 'The sleep finished (it should have been interrupted).',
  ],
  'tell a slow story': [
    { slow: Array.from({ length: 30 }, (_, i) => `word${i} `), interval: 250 },
  ],
  'and then the follow-up': [
    () => 'Queued follow-up answered.',
  ],
};

function chunk(delta, finish = null) {
  return `data: ${JSON.stringify({ id: 'chatcmpl-check', object: 'chat.completion.chunk', created: 0, model: 'fake',
    choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
}
const usage = `data: ${JSON.stringify({ id: 'chatcmpl-check', choices: [], usage: { prompt_tokens: 50, completion_tokens: 10, total_tokens: 60 } })}\n\n`;

async function stream(res, frames, interval = 0) {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  for (const f of frames) {
    if (res.destroyed) return;
    res.write(f);
    if (interval) await sleep(interval);
  }
  res.end('data: [DONE]\n\n');
}

function answer(body, res) {
  const msgs = body.messages ?? [];
  if (msgs[0]?.role === 'system' && textOf(msgs[0]).includes('short title')) {
    return stream(res, [chunk({ content: 'Agent check' }), chunk({}, 'stop'), usage]);
  }
  requests.push(body);
  fs.appendFileSync(path.join(OUT, 'provider-requests.jsonl'), `${JSON.stringify(body)}\n`);
  let lastUser = -1;
  msgs.forEach((m, i) => { if (m.role === 'user') lastUser = i; });
  const userText = textOf(msgs[lastUser]).toLowerCase();
  const step = msgs.slice(lastUser + 1).filter((m) => m.role === 'assistant').length;
  const lastTool = msgs.length && msgs[msgs.length - 1].role === 'tool' ? textOf(msgs[msgs.length - 1]) : '';
  const key = Object.keys(scenarios).find((k) => userText.includes(k));
  const plan = key ? scenarios[key] : [() => 'Hello from the fake provider.'];
  const s = plan[Math.min(step, plan.length - 1)];
  if (typeof s === 'function') {
    const words = s(lastTool).split(/(?= )/);
    return stream(res, [...words.map((w) => chunk({ content: w })), chunk({}, 'stop'), usage]);
  }
  if (s.slow) return stream(res, [...s.slow.map((w) => chunk({ content: w })), chunk({}, 'stop'), usage], s.interval);
  // A tool step: a little text, then the call's arguments in two pieces, then tool_calls.
  const id = `call_check_${++callCounter}`;
  const args = JSON.stringify(s.args);
  const cut = Math.floor(args.length / 2);
  return stream(res, [
    chunk({ content: `Using ${s.tool}.` }),
    chunk({ tool_calls: [{ index: 0, id, type: 'function', function: { name: s.tool, arguments: args.slice(0, cut) } }] }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(cut) } }] }),
    chunk({}, 'tool_calls'),
    usage,
  ]);
}

function fakeProvider() {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => { answer(JSON.parse(body || '{}'), res).catch((e) => note(`provider: ${e.message}`)); });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** The tool message(s) of the last provider request, as text. */
const lastRequestToolText = () => {
  const r = requests[requests.length - 1];
  return (r?.messages ?? []).filter((m) => m.role === 'tool').map(textOf).pop() ?? '';
};

async function waitFor(what, fn, timeout = 15000) {
  const t0 = Date.now();
  while (Date.now() - t0 < timeout) {
    const v = await fn();
    if (v) return v;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Processes whose command line is exactly `argv` (e.g. ['sleep', '30']), as pids. */
function processesRunning(argv) {
  const want = argv.join('\0');
  return fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try { return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0$/, '') === want; } catch { return false; }
  });
}

async function waitHealthy(url) {
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(`${url}/api/health`)).ok) return; } catch { /* not yet */ }
    await sleep(100);
  }
  throw new Error('jean2 did not answer');
}

// ---------------------------------------------------------------------------------------------
// The UI side.

/** Every tool card in the transcript, in order: name, status (from its icon), arguments. */
const toolCards = (page) => page.evaluate(() => [...document.querySelectorAll('svg.lucide-wrench')].map((w) => {
  const row = w.parentElement;
  const icon = row.querySelector('svg')?.getAttribute('class') ?? '';
  const status = /check/.test(icon) ? 'completed' : /circle-x|x-circle/.test(icon) ? 'error' : /pause/.test(icon) ? 'interrupted'
    : /clock/.test(icon) ? 'pending' : /loader/.test(icon) ? 'running' : `? ${icon}`;
  const spans = row.querySelectorAll('span');
  return { name: spans[0]?.textContent ?? '', status, args: spans[1]?.textContent ?? '' };
}));

/** The card (its outer div) of the last tool part with this name. */
const cardOf = (page, name) => page.locator('div.my-1').filter({ has: page.locator('svg.lucide-wrench') })
  .filter({ has: page.getByText(name, { exact: true }) }).last();

const framesOf = (type, dir = 'in') => frames.filter((f) => f.type === type && f.dir === dir);
/** The last tool part the server sent (part.created / part.updated) for this tool name. */
const lastToolPart = (name) => frames.filter((f) => f.dir === 'in' && (f.type === 'part.created' || f.type === 'part.updated')
  && f.part?.type === 'tool' && f.part?.name === name).pop()?.part;

async function send(page, text) {
  const input = page.locator('textarea').first();
  await input.click();
  await input.fill(text);
  await input.press('Enter');
}

const waitText = (page, text, timeout = 20000) => page.getByText(text).first().waitFor({ timeout });

/** The frames of one turn: from the chat.message (or queue.sending) at index `from` to runningAt:null. */
function turnFrames(from) {
  const out = [];
  for (const f of frames.slice(from)) {
    if (f.dir !== 'in') continue;
    out.push(f);
    if (f.type === 'session.updated' && f.session?.runningAt === null && out.some((g) => g.type === 'message.created')) break;
  }
  return out;
}

/** A frame as a short token for order checks: part.append runs are folded into the part. */
function token(f) {
  if (f.type === 'part.created' || f.type === 'part.updated') {
    const p = f.part;
    if (p.type === 'tool') return `${f.type} tool ${p.state?.status}`;
    if (p.type === 'step') return `${f.type} step ${p.number} ${p.status}${p.finishReason ? ` ${p.finishReason}` : ''}`;
    return `${f.type} ${p.type}`;
  }
  if (f.type === 'message.created' || f.type === 'message.updated') return `${f.type} ${f.message.role}${f.type === 'message.updated' ? ` ${f.message.status}` : ''}`;
  if (f.type === 'session.updated') return `session.updated running=${f.session?.runningAt ? 'set' : 'null'}`;
  return f.type;
}

// 1. read-file inside the workspace: no ask, the card completes, the answer uses the file; the
// two-step turn's events come in the documented order (PROTOCOL-AGENT §8.3).
async function readFile(page, shot) {
  phase = '1 read-file';
  const start = frames.length;
  await send(page, 'Please read the README');
  await waitText(page, `I read README.md: it mentions ${README_MARK}.`);
  await page.waitForTimeout(500);
  await shot('read-file-answered');
  const part = lastToolPart('read-file');
  check(part?.state?.status === 'completed', '1. read-file part completed on the wire', JSON.stringify(part?.state)?.slice(0, 300));
  check(!framesOf('ask.request').some((f) => f.toolCallId === part?.callId), '1. read-file inside the workspace asked nothing');
  const cards = await toolCards(page);
  check(cards.some((c) => c.name === 'read-file' && c.status === 'completed'), '1. the read-file card shows completed', JSON.stringify(cards));
  await cardOf(page, 'read-file').locator('div.cursor-pointer').first().click();
  await page.waitForTimeout(400);
  await shot('read-file-card-open');
  check(await cardOf(page, 'read-file').getByText(README_MARK).count() > 0, '1. the opened read-file card shows the file content as output');
  await cardOf(page, 'read-file').locator('div.cursor-pointer').first().click();
  const turn = turnFrames(start);
  const seen = [];
  for (const f of turn) { const t = token(f); if (f.type !== 'part.append' && seen[seen.length - 1] !== t) seen.push(t); }
  const expected = ['message.created user', 'part.created text', 'session.updated running=set', 'message.created assistant',
    'part.created step 1 started', 'part.created text', 'part.created tool pending', 'part.updated tool completed',
    'part.updated step 1 finished tool-calls', 'chat.usage', 'part.created step 2 started', 'part.created text',
    'part.updated step 2 finished stop', 'chat.usage', 'message.updated assistant completed', 'chat.usage',
    'session.updated running=null'];
  check(JSON.stringify(seen) === JSON.stringify(expected), '1. the two-step turn events come in the §8.3 order', seen.join(' → '));
  const texts = turn.filter((f) => f.type === 'part.created' && f.part.type === 'text' && f.part.messageId !== turn[0].message?.id);
  check(texts.length === 2 && texts[0].part.id !== texts[1].part.id, '1. the text after the tool call is a new part');
}

// 2. An edit outside the workspace: the ask shows inside the card; Allow Once; the file changes.
// Then an edit of the workspace's .env (sensitive): Block (deny); the model gets USER_REJECTION.
async function editAsks(page, shot) {
  phase = '2 edit approved';
  await send(page, 'Please fix the outside helper');
  const allow = cardOf(page, 'edit').getByRole('button', { name: 'Allow Once' });
  await allow.waitFor({ timeout: 20000 });
  await page.waitForTimeout(300);
  await shot('ask-in-edit-card');
  const ask = framesOf('ask.request').pop();
  let part = lastToolPart('edit');
  check(ask && ask.toolCallId === part?.callId, '2. ask.request toolCallId equals the edit part callId', `${ask?.toolCallId} vs ${part?.callId}`);
  note(`ask: risk ${ask?.ask?.risk}, question ${JSON.stringify(ask?.ask?.question)}, allowedScopes ${JSON.stringify(ask?.ask?.allowedScopes)}`);
  check(fs.readFileSync(outsideFile, 'utf8').includes('x * 3'), '2. the outside file is untouched while the ask is open');
  await allow.click();
  await waitText(page, 'I fixed the outside helper.');
  await page.waitForTimeout(500);
  await shot('edit-approved');
  check(fs.readFileSync(outsideFile, 'utf8').includes('return x * 2'), '2. after Allow Once the edit is on disk', fs.readFileSync(outsideFile, 'utf8'));
  part = lastToolPart('edit');
  check(part?.state?.status === 'completed', '2. the approved edit part completed', JSON.stringify(part?.state)?.slice(0, 300));
  const cards = await toolCards(page);
  check(cards.filter((c) => c.name === 'edit').pop()?.status === 'completed', '2. the approved edit card shows completed', JSON.stringify(cards));
  check(await cardOf(page, 'edit').getByRole('button', { name: 'Allow Once' }).count() === 0, '2. the ask is gone from the card after approval');

  phase = '2 edit denied';
  const before = requests.length;
  await send(page, 'Please turn on debug');
  const deny = cardOf(page, 'edit').getByRole('button', { name: 'Block', exact: true });
  await deny.waitFor({ timeout: 20000 });
  await page.waitForTimeout(300);
  await shot('ask-sensitive-env');
  note(`ask: ${JSON.stringify(framesOf('ask.request').pop()?.ask)?.slice(0, 400)}`);
  await deny.click();
  await waitText(page, 'Understood: you denied the .env edit (USER_REJECTION seen).');
  part = lastToolPart('edit');
  check(part?.state?.status === 'error' && /USER_REJECTION/.test(part?.state?.error ?? ''), '2. the denied edit part is error USER_REJECTION', JSON.stringify(part?.state)?.slice(0, 300));
  check(requests.length > before && /USER_REJECTION/.test(lastRequestToolText()), '2. the next provider request carries USER_REJECTION', lastRequestToolText().slice(0, 300));
  check(fs.readFileSync(path.join(project, '.env'), 'utf8') === 'DEBUG=false\n', '2. the denied .env edit did not happen');
  await cardOf(page, 'edit').locator('div.cursor-pointer').first().click();
  await page.waitForTimeout(400);
  await shot('edit-denied-card-open');
  check(await cardOf(page, 'edit').getByText('USER_REJECTION').count() > 0, '2. the denied edit card shows the USER_REJECTION error');
  await cardOf(page, 'edit').locator('div.cursor-pointer').first().click();

  // A reload while an ask is open: the ask comes back in its card (ask.pending_sync) and works.
  phase = '5 reload with an open ask';
  await send(page, 'Please turn on debug again');
  await cardOf(page, 'edit').getByRole('button', { name: 'Allow Once' }).waitFor({ timeout: 20000 });
  const openAsk = framesOf('ask.request').pop();
  await page.reload();
  await waitText(page, 'Please turn on debug again');
  const sync = await waitFor('ask.pending_sync after the reload', () => frames.filter((f) => f.type === 'ask.pending_sync'
    && f.t > openAsk.t).pop(), 10000).catch(() => null);
  check(sync?.requests?.some((r) => r.requestId === openAsk.requestId && r.toolCallId === openAsk.toolCallId),
    '5. ask.pending_sync after the reload carries the open ask', JSON.stringify(sync)?.slice(0, 300));
  const again = cardOf(page, 'edit').getByRole('button', { name: 'Allow Once' });
  const shown = await again.waitFor({ timeout: 10000 }).then(() => true, () => false);
  await page.waitForTimeout(300);
  await shot('reloaded-open-ask');
  check(shown, '5. after a reload the open ask shows in its card again');
  if (shown) {
    await again.click();
    await waitText(page, 'Debug is on.');
    check(fs.readFileSync(path.join(project, '.env'), 'utf8') === 'DEBUG=true\n', '5. the ask approved after the reload edits .env');
  }
}

// 3. shell `cat README.md`: the output reaches the model, which uses it.
async function shellCat(page, shot) {
  phase = '3 shell cat';
  await send(page, 'Please run cat on the readme');
  await waitText(page, `The command printed the README; it says ${README_MARK}.`);
  await page.waitForTimeout(500);
  await shot('shell-cat');
  const part = lastToolPart('shell');
  check(part?.state?.status === 'completed', '3. the shell part completed', JSON.stringify(part?.state)?.slice(0, 300));
  check(lastRequestToolText().includes(README_MARK), '3. the next provider request carries the command output', lastRequestToolText().slice(0, 300));
}

// 4. shell `sleep 30`, a reload while it runs, then Stop: the turn ends at once, the process is gone.
async function interrupt(page, shot) {
  phase = '4 interrupt';
  await send(page, 'Please wait a while');
  await waitFor('a sleep 30 process', () => processesRunning(['sleep', '30']).length > 0, 20000);
  const pids = processesRunning(['sleep', '30']);
  note(`sleep 30 running as pid ${pids.join(',')}`);
  await page.reload();
  await waitText(page, 'Please wait a while');
  await page.waitForTimeout(1000);
  await shot('sleep-running-after-reload');
  let cards = await toolCards(page);
  check(cards.filter((c) => c.name === 'shell').pop()?.status === 'pending', '4. after a reload mid-tool the sleep card is still pending', JSON.stringify(cards.slice(-1)));
  const stop = page.getByRole('button', { name: 'Stop' });
  const canStop = await stop.waitFor({ timeout: 5000 }).then(() => true, () => false);
  check(canStop, '4. after a reload mid-tool the Stop button shows');
  const t0 = Date.now();
  if (canStop) await stop.click();
  else await page.evaluate(() => { /* no button: nothing else a user could do */ });
  const ended = await waitFor('the interrupted turn', () => frames.find((f) => f.t >= t0 && f.type === 'message.updated'
    && f.message?.status === 'interrupted'), 10000).catch(() => null);
  check(ended, '4. message.updated interrupted arrives after Stop', ended ? `${ended.t - t0} ms` : 'none within 10 s');
  if (ended) note(`turn ended ${ended.t - t0} ms after the click`);
  const gone = await waitFor('sleep to be gone', () => pids.every((p) => !fs.existsSync(`/proc/${p}`)), 5000).then(() => Date.now() - t0).catch(() => null);
  check(gone !== null, '4. the sleep process is gone after Stop', gone !== null ? `${gone} ms` : `still running: ${pids.join(',')}`);
  const interrupted = frames.find((f) => f.t >= t0 && f.type === 'session.interrupted');
  note(`session.interrupted: ${JSON.stringify(interrupted?.result)}`);
  const part = lastToolPart('shell');
  check(part?.state?.status === 'interrupted', '4. the sleep part is interrupted', JSON.stringify(part?.state)?.slice(0, 300));
  check(interrupted?.result?.interruptedTools?.includes(part?.callId), '4. session.interrupted lists the sleep call', JSON.stringify(interrupted?.result));
  await waitFor('runningAt null', () => frames.find((f) => f.t >= t0 && f.type === 'session.updated' && f.session?.runningAt === null), 5000).catch(() => null);
  const after = frames.filter((f) => f.t >= t0 && f.dir === 'in');
  check(ended && ended.message.completedAt === undefined, '4. the interrupted message has no completedAt (§8.4 step 5)', `completedAt ${ended?.message?.completedAt}`);
  check(!after.some((f) => f.type === 'chat.usage'), '4. no chat.usage on an interrupt (§8.4 step 5)', after.map((f) => f.type).join(' → '));
  const step = after.filter((f) => f.type === 'part.updated' && f.part.type === 'step').pop();
  check(!step || ['stop', 'tool-calls', 'length', 'error'].includes(step.part.finishReason),
    "4. the interrupted step's finishReason is one the SDK knows (stop|tool-calls|length|error)", `finishReason ${step?.part?.finishReason}`);
  await page.waitForTimeout(800);
  await shot('sleep-interrupted');
  cards = await toolCards(page);
  check(cards.filter((c) => c.name === 'shell').pop()?.status === 'interrupted', '4. the sleep card shows interrupted', JSON.stringify(cards.slice(-1)));
}

// 4b. Stop while an ask is open: the ask is withdrawn (ask.timeout with its requestId), listed in
// rejectedAsks, the card ends interrupted and nothing is written.
async function interruptAsk(page, shot) {
  phase = '4b interrupt during an ask';
  const content = fs.readFileSync(outsideFile, 'utf8');
  await send(page, 'Please touch the outside helper');
  await cardOf(page, 'write-file').getByRole('button', { name: 'Allow Once' }).waitFor({ timeout: 20000 });
  const ask = framesOf('ask.request').pop();
  const t0 = Date.now();
  await page.getByRole('button', { name: 'Stop' }).click();
  const result = await waitFor('session.interrupted', () => frames.find((f) => f.t >= t0 && f.type === 'session.interrupted'), 10000).catch(() => null);
  check(result?.result?.rejectedAsks?.includes(ask.requestId), '4b. session.interrupted lists the open ask in rejectedAsks', JSON.stringify(result?.result));
  const timeout = await waitFor('ask.timeout', () => frames.find((f) => f.t >= t0 && f.type === 'ask.timeout'), 5000).catch(() => null);
  check(timeout?.requestId === ask.requestId && timeout?.toolCallId === ask.toolCallId, '4b. ask.timeout withdraws the open ask', JSON.stringify(timeout));
  await waitFor('the write-file card to end', async () => (await toolCards(page)).filter((c) => c.name === 'write-file').pop()?.status !== 'pending', 5000).catch(() => null);
  await page.waitForTimeout(500);
  await shot('interrupted-ask');
  const cards = await toolCards(page);
  check(cards.filter((c) => c.name === 'write-file').pop()?.status === 'interrupted', '4b. the write-file card shows interrupted', JSON.stringify(cards.slice(-1)));
  check(await cardOf(page, 'write-file').getByRole('button', { name: 'Allow Once' }).count() === 0, '4b. the ask is gone from the card');
  check(fs.readFileSync(outsideFile, 'utf8') === content, '4b. nothing was written');
}

// 6. A follow-up typed while a reply streams: queue.add, shown as pending, run after.
async function queue(page, shot) {
  phase = '6 queue';
  await send(page, 'Please tell a slow story');
  await waitText(page, 'word3', 20000);
  await send(page, 'And then the follow-up please');
  const added = await waitFor('queue.added', () => framesOf('queue.added').pop(), 5000).catch(() => null);
  check(framesOf('queue.add', 'out').length > 0, '6. the client sent queue.add while the reply streamed');
  check(added?.message?.content === 'And then the follow-up please', '6. queue.added carries message (the SDK shape)', JSON.stringify(added));
  const pending = await page.getByText('Pending', { exact: true }).first().waitFor({ timeout: 5000 }).then(() => true, () => false);
  check(pending, '6. the queued message shows as Pending');
  await shot('queued-while-streaming');
  await waitText(page, 'Queued follow-up answered.', 30000);
  await page.waitForTimeout(800);
  await shot('queued-ran');
  const sending = framesOf('queue.sending').pop();
  check(sending && sending.queueId === added?.message?.id, '6. queue.sending names the queued id', JSON.stringify(sending));
  const order = requests.map((r) => textOf([...r.messages].reverse().find((m) => m.role === 'user')));
  check(order.indexOf('And then the follow-up please') > order.indexOf('Please tell a slow story'), '6. the follow-up ran after the story');
  check(await page.getByText('word29').count() > 0, '6. the story finished before the follow-up');
  check(await page.getByText('Pending', { exact: true }).count() === 0, '6. the Pending bubble is gone once it ran');
  check(await page.getByText('Something went wrong').count() === 0, '6. no error boundary on screen');
}

// 5. Reload: every tool card as it was; the token meter reads the context size, as before.
async function reload(page, shot) {
  phase = '5 reload';
  const cards = await toolCards(page);
  const lastUsage = framesOf('chat.usage').pop()?.usage;
  await page.reload();
  await waitText(page, 'Queued follow-up answered.', 20000);
  await page.waitForTimeout(1500);
  await shot('reloaded');
  const after = await toolCards(page);
  note(`cards before reload: ${JSON.stringify(cards.map((c) => `${c.name}:${c.status}`))}`);
  check(JSON.stringify(after) === JSON.stringify(cards), '5. after a reload the tool cards are the same', `after: ${JSON.stringify(after)}`);
  const resumed = framesOf('session.resumed').pop();
  const stored = (resumed?.messages ?? []).flatMap((m) => m.parts ?? []).filter((p) => p.type === 'tool')
    .map((p) => `${p.name}:${p.state?.status}`);
  note(`tool parts in the last session.resumed: ${stored.join(', ')}`);
  check(stored.join() === cards.map((c) => `${c.name}:${c.status}`).join(), '5. session.resumed carries the same tool parts', stored.join());
  check(resumed?.usage?.totalTokens === lastUsage?.totalTokens,
    "5. session.resumed usage is the last step's usage (the context size the meter shows), as before the reload",
    `resumed ${JSON.stringify(resumed?.usage)} vs last chat.usage ${JSON.stringify(lastUsage)}`);
}

async function scenarios_in_the_ui(page, shot) {
  await readFile(page, shot);
  await editAsks(page, shot);
  await shellCat(page, shot);
  await interrupt(page, shot);
  await interruptAsk(page, shot);
  await queue(page, shot);
  await reload(page, shot);
}

// ---------------------------------------------------------------------------------------------
const provider = await fakeProvider();
const jean2 = spawn(BIN, ['server', '-p', String(PORT)], {
  env: { PATH: process.env.PATH, HOME: dataDir, JEAN2_DATA_DIR: dataDir, JEAN2_CLIENT_DIR: CLIENT_DIR,
    JEAN2_LLM_BASE_URL: `http://127.0.0.1:${provider.address().port}/v1`, JEAN2_LLM_OPENAI_API_KEY: 'sk-agent-check' },
  stdio: ['ignore', fs.openSync(path.join(OUT, 'jean2.log'), 'w'), fs.openSync(path.join(OUT, 'jean2.err'), 'w')],
});
const base = `http://localhost:${PORT}`;
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
const frames = [];
let page;
try {
  await waitHealthy(base);
  const created = await fetch(`${base}/api/workspaces`, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'demo-project', path: project, isVirtual: false }) });
  const wsBody = await created.json();
  check(created.status === 201, 'POST /api/workspaces makes a folder workspace', `${created.status} ${JSON.stringify(wsBody)}`);
  const workspaceId = wsBody.workspace?.id;

  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('pageerror', (e) => problem(`page error: ${e.message}`));
  // The browser's ResizeObserver loop notice (the client's layout, not the server) and requests
  // a reload cut short (net::ERR_ABORTED) are listed as notes, not problems.
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = m.text().slice(0, 300);
    if (/ResizeObserver loop|Error stack: undefined/.test(text)) notes.push(`[${phase}] console: ${text}`);
    else problem(`console error: ${text}`);
  });
  page.on('response', (r) => {
    if (r.url().includes('/api/') && r.status() >= 400) problem(`${r.request().method()} ${r.url()} → ${r.status()}`);
  });
  page.on('requestfailed', (r) => {
    if (!r.url().includes('/api/')) return;
    const msg = `request failed: ${r.method()} ${r.url()} (${r.failure()?.errorText})`;
    if (r.failure()?.errorText === 'net::ERR_ABORTED') notes.push(`[${phase}] ${msg}`);
    else problem(msg);
  });
  page.on('websocket', (ws) => {
    const log = (dir) => (f) => {
      const text = typeof f.payload === 'string' ? f.payload : f.payload.toString();
      let v; try { v = JSON.parse(text); } catch { v = { raw: text }; }
      const entry = { t: Date.now(), dir, url: ws.url(), ...v };
      frames.push(entry);
      fs.appendFileSync(path.join(OUT, 'ws-frames.jsonl'), `${JSON.stringify(entry)}\n`);
    };
    ws.on('framesent', log('out'));
    ws.on('framereceived', log('in'));
  });
  await page.exposeFunction('reportToast', (type, text) => {
    note(`toast (${type}): ${text}`);
    if (type === 'error') problem(`error toast: ${text}`);
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
  let shotN = 0;
  const shot = async (name) => {
    const file = `${String(++shotN).padStart(2, '0')}-${name}.png`;
    await page.screenshot({ path: path.join(OUT, file) });
    note(`screenshot ${file}`);
  };

  await page.goto(`${base}/`);
  await page.getByText('Home', { exact: true }).first().waitFor({ timeout: 15000 });
  await page.getByText('Home', { exact: true }).first().click();
  await page.waitForURL(/\/server\//, { timeout: 15000 });
  await page.waitForTimeout(1500);
  await shot('server');
  note(`workspace ${workspaceId}`);
  await page.getByText('New Chat', { exact: true }).first().click();
  await page.waitForTimeout(1500);
  await shot('new-chat');
  await page.getByText(/· General/).first().click();
  await page.waitForTimeout(500);
  await page.locator('button').filter({ hasText: 'Config' }).filter({ hasText: 'General' }).last().click();
  await page.waitForTimeout(500);
  await page.getByRole('option', { name: /^Code/ }).first().click();
  await page.waitForTimeout(500);
  await page.keyboard.press('Escape');
  await page.getByText(/· Code/).first().waitFor({ timeout: 5000 });
  await shot('preconfig-code');
  const sessionId = page.url().match(/session\/([^/?#]+)/)?.[1];
  note(`session ${sessionId}`);
  await scenarios_in_the_ui(page, shot);
} catch (e) {
  problem(`step failed: ${e.message.split('\n')[0]}`);
  try { await page?.screenshot({ path: path.join(OUT, 'failure.png') }); } catch { /* none */ }
} finally {
  await browser.close();
  jean2.kill('SIGTERM');
  provider.close();
  if (!process.env.KEEP) fs.rmSync(tmp, { recursive: true, force: true });
}
console.log(`\n${passed.length} checks passed`);
if (notes.length) console.log(`notes (not counted as problems):\n- ${notes.join('\n- ')}`);
console.log(problems.length ? `PROBLEMS:\n- ${problems.join('\n- ')}` : 'no failed check, error toast, page error, console error or failed /api request');
process.exit(problems.length ? 1 : 0);
