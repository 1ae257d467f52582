// billing.spec.mjs — buying a plan in a real browser (playwright-core driving
// Debian's chromium), against the stack t/e2e/run starts with its Stripe
// fake (t/fakes/stripe.py) and a UPI ID and bank details set:
//   1. by card: the plans page, Stripe Checkout (the fake's page), Pay, back
//      on /billing/done, the worker folds Stripe's events, the credits are
//      there; "Manage billing" opens the billing portal;
//   2. by UPI: the payment page's QR code, photographed in the browser and
//      read by zbarimg, is exactly the upi:// link for the plan's price; a
//      wrong amount is refused with what was typed kept; a proof uploaded,
//      the payment pending; `acctl payment approve` makes the plan active;
//   3. an expired plan: the dashboard says so and why;
//   4. screenshots of each billing page, desktop (1280) and phone (390), in
//      $AC_TEST_OUT, and no page wider than the phone.
// Environment: AC_TEST_BASE_URL, AC_DATABASE_URL, AC_TEST_ACCTL,
// AC_TEST_WORKER, AC_TEST_OUT, AC_UPI_VPA, CHROMIUM (default /usr/bin/chromium).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
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
const vpa = env('AC_UPI_VPA');
mkdirSync(out, { recursive: true });

const acctl = (...args) => JSON.parse(execFileSync(env('AC_TEST_ACCTL'), args, { encoding: 'utf8' }));
const worker = () => execFileSync(env('AC_TEST_WORKER'), ['--once'], { stdio: 'ignore' });
const sql = (query, ...params) => execFileSync('psql', [env('AC_DATABASE_URL'), '-XAtq',
	'-v', 'ON_ERROR_STOP=1', ...params.flatMap((p, i) => ['-v', `p${i + 1}=${p}`])],
	{ encoding: 'utf8', input: query + ';\n' }).trim();

const proofPath = writePng(`${out}/upi-proof.png`, 0x5a);

// What the operator set up: a strategy and two plans, one bought by card
// (a Stripe price), one by UPI.
const hex = randomBytes(4).toString('hex').toUpperCase();
const sid = acctl('strategy', 'add', '--symbol', `BIL${hex}USDT`, '--timeframe', '4h',
	'--strategy', 'UT Bot', '--name', `UT Bot Billing ${hex}`).id;
const card = acctl('plan', 'add', '--name', `Card ${hex}`, '--price-cents', '49900', '--currency',
	'INR', '--months', '1', '--credits', '40', '--strategies', String(sid),
	'--stripe-price-id', `price_e2e_${hex.toLowerCase()}`, '--description', 'Renews monthly by card');
const upi = acctl('plan', 'add', '--name', `UPI ${hex}`, '--price-cents', '129900', '--currency',
	'INR', '--months', '3', '--credits', '150', '--strategies', String(sid),
	'--description', 'A quarter, paid by UPI or bank transfer');
const email = `bill.${hex.toLowerCase()}@example.com`;
acctl('user', 'add', '--email', email, '--password', 'a long enough passphrase', '--name', 'Bill Payer');

const browser = await chromium.launch({
	executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
	args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
const failures = [];
const step = async (name, fn) => {
	const t0 = Date.now();
	try {
		await fn();
		console.log(`ok   ${name} (${Date.now() - t0} ms)`);
	} catch (e) {
		failures.push(name);
		console.log(`FAIL ${name}: ${e.stack || e}`);
	}
};

const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, javaScriptEnabled: false });
const page = await context.newPage();
const shot = (name) => page.screenshot({ path: `${out}/billing-${name}.png`, fullPage: true });
const balance = async () => Number((await page.locator('#balance').textContent()).trim());

await step('log in; the plans offer card and UPI', async () => {
	await page.goto(`${base}/login`);
	await page.getByLabel('Email').fill(email);
	await page.getByLabel('Password').fill('a long enough passphrase');
	await page.getByRole('button', { name: 'Log in' }).click();
	await page.waitForURL(`${base}/`);
	await page.goto(`${base}/plans`);
	assert.equal(await page.locator(`#card-${card.id}`).count(), 1, 'no card button on the card plan');
	assert.equal(await page.locator(`#card-${upi.id}`).count(), 0, 'a card button on a plan without a price');
	assert.equal(await page.locator(`#manual-${upi.id}`).count(), 1);
	await shot('plans');
});

await step('buy by card through Stripe Checkout; the credits arrive', async () => {
	await page.locator(`#card-${card.id}`).click();
	await page.waitForURL(/\/checkout\/cs_/);
	await shot('stripe-checkout');
	await page.getByRole('button', { name: 'Pay', exact: true }).click();
	await page.waitForURL(/\/billing\/done\?session=cs_/);
	assert.match(await page.locator('#billing-status').textContent(), /waiting for its confirmation/);
	await shot('done-waiting');
	worker();
	await page.reload();
	assert.match(await page.locator('#billing-status').textContent(),
		new RegExp(`Card ${hex}.*active until .*40 credits`, 's'));
	assert.equal(await balance(), 40);
	await shot('done');
	await page.goto(`${base}/`);
	assert.match(await page.locator('main').textContent(), new RegExp(`Card ${hex}[\\s\\S]*renews on`));
	assert.equal(await balance(), 40);
});

await step('manage billing opens the billing portal and returns', async () => {
	await page.goto(`${base}/plans`);
	await page.getByRole('button', { name: 'manage billing' }).click();
	await page.waitForURL(/\/billing\/bps_/);
	await page.getByRole('link', { name: 'Return' }).click();
	await page.waitForURL(`${base}/account`);
});

let link = '';
await step('the UPI QR code, read from the screen, is the plan\'s payment link', async () => {
	await page.goto(`${base}/plans`);
	await page.locator(`#manual-${upi.id}`).click();
	await page.waitForURL(`${base}/plans/${upi.id}/pay`);
	link = await page.locator('#upi-link').getAttribute('href');
	assert.match(link, new RegExp(`^upi://pay\\?pa=${vpa.replace('.', '\\.')}&.*am=1299\\.00&cu=INR`));
	await shot('pay');
	await page.locator('#upi-qr').screenshot({ path: `${out}/billing-qr.png` });
	const read = execFileSync('zbarimg', ['--raw', '-q', `${out}/billing-qr.png`], { encoding: 'utf8' }).trim();
	assert.equal(read, link);
});

await step('a wrong amount is refused and the form keeps what was typed', async () => {
	await page.getByLabel('Transaction id (UTR)').fill('412345678901');
	await page.getByLabel('Amount paid (INR)').fill('999');
	await page.locator('#proof').setInputFiles(proofPath);
	await page.getByRole('button', { name: 'Submit payment' }).click();
	assert.match(await page.locator('.alert-danger').textContent(), /must be the plan's price, 1299\.00 INR/);
	assert.equal(await page.getByLabel('Transaction id (UTR)').inputValue(), '412345678901');
	await shot('pay-refused');
});

await step('a UPI payment with its proof waits, then an operator approves it', async () => {
	await page.getByLabel('Amount paid (INR)').fill('1299.00');
	await page.locator('#proof').setInputFiles(proofPath);
	await page.getByRole('button', { name: 'Submit payment' }).click();
	await page.waitForURL(/\/payments\?done=payment_submitted/);
	const row = page.locator('#payments li').first();
	assert.match(await row.textContent(), new RegExp(`UPI ${hex}.*1299\\.00 INR.*pending.*UPI.*412345678901`, 's'));
	await shot('payments-pending');
	const proof = await page.request.get(`${base}${await row.getByRole('link', { name: 'proof' }).getAttribute('href')}`);
	assert.equal(proof.status(), 200);
	assert.deepEqual(Buffer.from(await proof.body()), readFileSync(proofPath));
	await page.goto(`${base}/`);
	assert.equal(await page.locator('#pending-payment').count(), 1);
	const id = sql("SELECT id FROM payments WHERE transaction_id = '412345678901'");
	const approved = acctl('payment', 'approve', id, '--by', 'e2e');
	assert.equal(approved.status, 'approved');
	await page.goto(`${base}/payments`);
	assert.match(await page.locator('#payments li').first().textContent(), /approved.*Plan active until/s);
	await shot('payments-approved');
	await page.goto(`${base}/`);
	assert.equal(await page.locator('#pending-payment').count(), 0);
	assert.equal(await balance(), 190);
	await shot('dashboard-paid');
});

await step('an expired plan: the dashboard says so and why', async () => {
	// both plans end: the UPI one's period is over, the card one Stripe cancelled
	sql("UPDATE subscriptions SET period_start = now() - interval '100 days',"
		+ " period_end = now() - interval '1 day' WHERE user_id = (SELECT id FROM users"
		+ " WHERE email = :'p1') AND provider = 'manual' AND status = 'active'", email);
	sql("UPDATE subscriptions SET status = 'cancelled', end_reason = 'cancelled',"
		+ " ended_at = now() - interval '2 days', period_end = now() - interval '2 days',"
		+ " period_start = now() - interval '40 days' WHERE user_id = (SELECT id FROM users"
		+ " WHERE email = :'p1') AND provider = 'stripe'", email);
	const swept = acctl('billing', 'sweep');
	assert.ok(swept.expired >= 1, JSON.stringify(swept));
	await page.goto(`${base}/`);
	assert.match(await page.locator('#plan-ended').textContent(),
		new RegExp(`UPI ${hex} plan expired on .*no longer receive signals`, 's'));
	await shot('dashboard-expired');
});

await step('phone-sized billing pages', async () => {
	const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true,
		javaScriptEnabled: false, storageState: await context.storageState() });
	const p = await phone.newPage();
	for (const path of ['plans', `plans/${upi.id}/pay`, 'payments', '']) {
		await p.goto(`${base}/${path}`);
		const width = await p.evaluate(() => document.documentElement.scrollWidth);
		await p.screenshot({ path: `${out}/phone-billing-${path.replace(/\//g, '-') || 'dashboard'}.png`, fullPage: true });
		assert.ok(width <= 400, `/${path} is ${width}px wide on a phone`);
	}
	await phone.close();
});

await browser.close();
console.log(`e2e billing: ${failures.length ? `FAILED: ${failures.join(', ')}` : 'all passed'}; screenshots in ${out}`);
process.exit(failures.length ? 1 : 0);
