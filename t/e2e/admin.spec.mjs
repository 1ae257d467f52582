// admin.spec.mjs — the operators' panel in a real browser (playwright-core
// driving Debian's chromium), against the stack t/e2e/run starts:
//   1. an operator logs in and creates a UT Bot strategy through the form;
//   2. copies its Pine Script and webhook URL with the Copy buttons (the
//      clipboard holds exactly the script on the page and what
//      `acctl strategy pine ID --raw` prints);
//   3. makes a plan that includes it, marks a user as a test user, sends a
//      test signal and sees it delivered to that user alone;
//   4. approves a UPI payment a subscriber made in the portal, its proof shown;
//   5. adjusts a user's credits with a reason;
//   6. finds a refused (stale) alert in the review queue and accepts it once;
//   7. the audit log lists each of those changes;
//   8. screenshots of every admin page at 1280 and 390 px in $AC_TEST_OUT,
//      and no page wider than the phone.
// Environment: AC_TEST_BASE_URL, AC_DATABASE_URL, AC_TEST_ACCTL,
// AC_TEST_WORKER, AC_TEST_OUT, CHROMIUM (default /usr/bin/chromium).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { writePng } from './png.mjs';

const env = (name) => {
	const v = process.env[name];
	if (!v) throw new Error(`${name} is not set: run t/e2e/run`);
	return v;
};
const base = env('AC_TEST_BASE_URL');
const out = env('AC_TEST_OUT');
mkdirSync(out, { recursive: true });

const acctl = (...args) => JSON.parse(execFileSync(env('AC_TEST_ACCTL'), args, { encoding: 'utf8' }));
const acctlText = (...args) => execFileSync(env('AC_TEST_ACCTL'), args, { encoding: 'utf8' });
const worker = () => execFileSync(env('AC_TEST_WORKER'), ['--once'], { stdio: 'ignore' });
const sql = (query, ...params) => execFileSync('psql', [env('AC_DATABASE_URL'), '-XAtq',
	'-v', 'ON_ERROR_STOP=1', ...params.flatMap((p, i) => ['-v', `p${i + 1}=${p}`])],
	{ encoding: 'utf8', input: query + ';\n' }).trim();

const proofPath = writePng(`${out}/admin-proof.png`, 0x3c);

// Who is there before the operator starts: the operator's account, a
// subscriber who will pay by UPI, a user who will become a test user.
const hex = randomBytes(4).toString('hex');
const HEX = hex.toUpperCase();
const operator = `ops_${hex}`;
acctl('admin', 'add', '--username', operator, '--email', `${operator}@example.com`,
	'--password', 'operator passphrase', '--name', 'Olive Operator', '--permissions', 'all');
const payerEmail = `payer.${hex}@example.com`;
const payer = acctl('user', 'add', '--email', payerEmail, '--password', 'a long enough passphrase',
	'--name', 'Pat Payer');
const testerEmail = `tester.${hex}@example.com`;
const tester = acctl('user', 'add', '--email', testerEmail, '--password', 'a long enough passphrase',
	'--name', 'Tess Tester');
const symbol = `ADM${HEX}USDT`;

const browser = await chromium.launch({
	executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
	args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
const page = await context.newPage();
// what the browser refused or could not load: CSP refusals are console
// errors; a missing resource is seen by its response (the favicon aside)
const consoleErrors = [];
const watch = (p) => {
	p.on('console', (m) => {
		if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) consoleErrors.push(m.text());
	});
	p.on('response', (r) => {
		if (r.status() >= 400 && !/favicon\.ico$/.test(r.url()) && r.request().resourceType() !== 'document')
			consoleErrors.push(`${r.status()} ${r.url()}`);
	});
};
watch(page);
const shot = (name) => page.screenshot({ path: `${out}/admin-${name}.png`, fullPage: true });
const failures = [];
const step = async (name, fn) => {
	try {
		await fn();
		console.log(`ok - ${name}`);
	} catch (e) {
		failures.push(name);
		console.log(`not ok - ${name}\n${e.stack}`);
		await shot(`failed-${failures.length}`).catch(() => {});
	}
};
const flash = async () => (await page.locator('[role=status]').first().textContent()).trim();

let strategyId, token, planId, signalId;

await step('log in; the overview says what waits', async () => {
	await page.goto(`${base}/admin`);
	assert.equal(new URL(page.url()).pathname, '/admin/login');
	await shot('login');
	await page.getByLabel('Username or email').fill(operator);
	await page.getByLabel('Password').fill('operator passphrase');
	await page.getByRole('button', { name: 'Log in' }).click();
	assert.equal(new URL(page.url()).pathname, '/admin');
	assert.match(await page.locator('#last-login').textContent(), /first login/);
	await shot('overview');
});

await step('create a UT Bot strategy through the form', async () => {
	await page.goto(`${base}/admin/strategies`);
	await page.locator('#new-strategy').click();
	await page.locator('#sf-name').fill(`UT Bot ${HEX}`);
	await page.locator('#sf-symbol').fill(symbol);
	await page.locator('#sf-timeframe').selectOption('1h');
	await page.locator('#sf-strategy').fill('UT Bot');
	await page.locator('#sf-key').fill('2');
	await page.locator('#sf-atr').fill('14');
	await page.locator('#sf-heikin').check();
	await shot('strategy-new');
	await page.getByRole('button', { name: 'Save' }).click();
	const m = new URL(page.url()).pathname.match(/^\/admin\/strategies\/(\d+)$/);
	assert.ok(m, `after saving: ${page.url()}`);
	strategyId = m[1];
	assert.equal(sql("SELECT key_value::text || ' ' || atr_period || ' ' || heikin_ashi FROM strategies"
		+ " WHERE id = :'p1'", strategyId), '2.000 14 true');
	token = (await page.locator('#webhook-url').inputValue()).split('/hook/tv/')[1];
	assert.ok(token && token.length > 20, 'the webhook URL holds the token');
});

await step('copy the Pine Script and the webhook URL', async () => {
	const shown = await page.locator('#pine-script').textContent();
	assert.equal(shown, acctlText('strategy', 'pine', strategyId, '--raw'));
	assert.match(shown, /^\/\/@version=5/m);
	assert.match(shown, new RegExp(symbol));
	await page.getByRole('button', { name: 'Copy the script' }).click();
	assert.equal(await page.evaluate(() => navigator.clipboard.readText()), shown);
	await page.locator('button[data-copy="webhook-url"]').click();
	assert.equal(await page.evaluate(() => navigator.clipboard.readText()),
		`${base}/hook/tv/${token}`);
	assert.ok((await page.locator('#pine-steps li').count()) >= 3, 'the steps in TradingView');
	await shot('strategy');
});

await step('a plan that includes it', async () => {
	await page.goto(`${base}/admin/plans/new`);
	await page.locator('#name').fill(`Admin E2E ${HEX}`);
	await page.locator('#price').fill('799.00');
	await page.locator('#currency').fill('INR');
	await page.locator('#duration_months').fill('1');
	await page.locator('#credits_per_period').fill('20');
	await page.locator(`#strategy-${strategyId}`).check();
	await shot('plan-new');
	await page.getByRole('button', { name: 'Create plan' }).click();
	const m = new URL(page.url()).pathname.match(/^\/admin\/plans\/(\d+)$/);
	assert.ok(m, `after creating: ${page.url()}`);
	planId = m[1];
	assert.equal(sql("SELECT price_minor || ' ' || (SELECT count(*) FROM plan_strategies"
		+ " WHERE plan_id = :'p1' AND strategy_id = :'p2') FROM plans WHERE id = :'p1'",
	planId, strategyId), '79900 1');
	await shot('plan');
});

await step('a test user, and a test signal delivered to them alone', async () => {
	// the tester and the payer both subscribe and set an alarm (the subscriber's side)
	acctl('subscribe', '--email', testerEmail, '--plan', `Admin E2E ${HEX}`);
	acctl('alarm', 'add', '--email', testerEmail, '--strategy', strategyId, '--channels', 'email');
	await page.goto(`${base}/admin/users?q=${encodeURIComponent(testerEmail)}`);
	await shot('users');
	await page.getByRole('link', { name: testerEmail }).click();
	await page.getByRole('button', { name: 'Mark as test user' }).click();
	assert.match(await flash(), /test user/i);
	await page.goto(`${base}/admin/strategies/${strategyId}`);
	await page.locator('#tf-user').selectOption({ label: testerEmail });
	await page.locator('#tf-action').selectOption('BUY');
	await page.locator('#tf-price').fill('42000');
	await page.getByRole('button', { name: 'Send' }).click();
	const link = page.locator('#sent-signal a');
	signalId = (await link.textContent()).replace('#', '');
	assert.match(signalId, /^\d+$/);
	worker();
	await link.click();
	assert.equal(new URL(page.url()).pathname, `/admin/signals/${signalId}`);
	const deliveries = page.locator('#deliveries tbody tr');
	assert.equal(await deliveries.count(), 1);
	assert.match(await deliveries.first().textContent(), new RegExp(`${testerEmail}[\\s\\S]*email[\\s\\S]*sent`));
	await shot('signal');
	await page.goto(`${base}/admin/signals?strategy=${strategyId}`);
	assert.match(await page.locator('main').textContent(), /email 1 sent/);
	await shot('signals');
});

await step('approve a UPI payment with its proof shown', async () => {
	const sub = await browser.newContext({ viewport: { width: 1280, height: 860 } });
	const p = await sub.newPage();
	await p.goto(`${base}/login`);
	await p.getByLabel('Email').fill(payerEmail);
	await p.getByLabel('Password').fill('a long enough passphrase');
	await p.getByRole('button', { name: 'Log in' }).click();
	await p.goto(`${base}/plans/${planId}/pay`);
	await p.getByLabel('Transaction id (UTR)').fill(`5${Date.now() % 100000000000}`);
	await p.getByLabel('Amount paid (INR)').fill('799.00');
	await p.locator('#proof').setInputFiles(proofPath);
	await p.getByRole('button', { name: 'Submit payment' }).click();
	await sub.close();
	const pay = sql("SELECT p.id FROM payments p JOIN subscriptions s ON s.id = p.subscription_id"
		+ " WHERE s.user_id = :'p1' AND p.status = 'pending'", payer.id);
	assert.match(pay, /^\d+$/, 'the payment waits');
	await page.goto(`${base}/admin/payments`);
	const row = page.locator(`#payment-${pay}`);
	const img = row.locator('img.ac-proof');
	assert.ok(await img.evaluate((i) => i.complete && i.naturalWidth === 8), 'the proof is shown');
	await shot('payments');
	await row.getByRole('button', { name: 'Approve' }).click();
	assert.match(await flash(), /approved/i);
	assert.equal(sql("SELECT status FROM subscriptions WHERE id = (SELECT subscription_id FROM"
		+ " payments WHERE id = :'p1')", pay), 'active');
});

await step('adjust a user\'s credits with a reason', async () => {
	const before = Number(sql("SELECT credit_balance FROM users WHERE id = :'p1'", payer.id));
	await page.goto(`${base}/admin/users/${payer.id}`);
	await page.locator('#amount').fill('7');
	await page.locator('#reason').fill('goodwill: a late signal');
	await page.getByRole('button', { name: 'Adjust credits' }).click();
	assert.match(await flash(), /adjusted/i);
	assert.equal(Number((await page.locator('#balance').textContent()).trim()), before + 7);
	assert.equal(sql("SELECT count(*) FROM credit_ledger WHERE user_id = :'p1' AND kind = 'adjustment'"
		+ " AND reference LIKE '%goodwill%'", payer.id), '1');
	await shot('user');
});

await step('a refused alert in the review queue, accepted once', async () => {
	const old = new Date(Date.now() - 3600 * 1000).toISOString();
	const res = await fetch(`${base}/hook/tv/${token}`, { method: 'POST',
		headers: { 'Content-Type': 'application/json' },
		body: JSON.stringify({ symbol, timeframe: '60', action: 'sell', price: 41000.5, time: old }) });
	assert.equal(res.status, 422);
	const reject = sql("SELECT id FROM webhook_rejects WHERE strategy_id = :'p1' AND code = 'stale_alert'",
		strategyId);
	await page.goto(`${base}/admin/review`);
	const row = page.locator(`#reject-${reject}`);
	assert.match(await row.textContent(), /stale_alert/);
	await shot('review');
	const signals = () => sql("SELECT count(*) FROM signals WHERE strategy_id = :'p1'", strategyId);
	const n = Number(signals());
	await row.getByRole('button', { name: 'Accept' }).click();
	assert.match(await flash(), /accepted|stored/i);
	assert.equal(Number(signals()), n + 1);
	assert.equal(sql("SELECT review FROM webhook_rejects WHERE id = :'p1'", reject), 'accepted');
});

await step('the audit log lists every change', async () => {
	await page.goto(`${base}/admin/audit?actor=${operator}`);
	const text = await page.locator('#audit').textContent();
	for (const action of ['strategy.create', 'plan.create', 'user.test', 'strategy.test',
		'payment.approve', 'user.credits', 'review.accept', 'auth.login'])
		assert.ok(text.includes(action), `audit has ${action}`);
	await shot('audit');
	await page.goto(`${base}/admin/health`);
	assert.ok((await page.locator('svg.ac-chart').count()) >= 1, 'a chart');
	await shot('health');
});

await step('every page at 1280 and 390 px, none wider than the phone', async () => {
	const pages = ['', 'strategies', `strategies/${strategyId}`, 'strategies/new', 'users',
		`users/${payer.id}`, 'plans', `plans/${planId}`, 'plans/new', 'payments?status=all',
		'signals', `signals/${signalId}`, 'review?show=all', 'health', 'audit'];
	const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true,
		storageState: await context.storageState() });
	const p = await phone.newPage();
	watch(p);
	for (const path of pages) {
		const name = path.replace(/[/?=]/g, '-') || 'overview';
		await page.goto(`${base}/admin/${path}`);
		await page.screenshot({ path: `${out}/admin-desktop-${name}.png`, fullPage: true });
		await p.goto(`${base}/admin/${path}`);
		assert.equal((await p.title()).includes('Not found'), false, `/admin/${path} exists`);
		const width = await p.evaluate(() => document.documentElement.scrollWidth);
		const dups = await p.evaluate(() => {
			const seen = new Map();
			for (const el of document.querySelectorAll('[id]')) seen.set(el.id, (seen.get(el.id) || 0) + 1);
			return [...seen].filter(([, n]) => n > 1).map(([id]) => id);
		});
		await p.screenshot({ path: `${out}/admin-phone-${name}.png`, fullPage: true });
		assert.ok(width <= 400, `/admin/${path} is ${width}px wide on a phone`);
		assert.deepEqual(dups, [], `/admin/${path} repeats ids`);
	}
	await phone.close();
	assert.deepEqual(consoleErrors, [], 'no errors in the console (CSP included)');
});

await browser.close();
console.log(`e2e admin: ${failures.length ? `FAILED: ${failures.join(', ')}` : 'all passed'}; screenshots in ${out}`);
process.exit(failures.length ? 1 : 0);
