// portal.spec.mjs — the portal in a real browser (playwright-core driving
// Debian's chromium; no browser is ever downloaded), against the stack
// t/e2e/run starts:
//   1. a guest: the front page, plans, sign-up (at 1280 and 390 px);
//   2. sign up (through the link mailed to the outbox), log out, log in,
//      add an alarm; an alert posted to /hook/tv/<token>, `ac-worker
//      --once`; the notification is in the history and the balance went
//      down; a token shown once; Telegram linked by its QR code and
//      unlinked; a SELL closes the trade, its PnL on the trades page;
//      the strategy's public track record once opted in (both widths);
//   3. the same subscriber on a phone: an alarm added and deleted through
//      its confirm page, trades and ledger as cards, a token; every page
//      at 390 px; log out;
//   4. password reset through the email outbox.
// Every page, at both widths, is screenshotted into $AC_TEST_OUT and fails
// the run on a console error or CSP refusal, a failed resource, a page
// wider than its window, a table cut off or scrolling on its own, or an
// id used twice.
//   3. a screenshot of each main page, desktop and phone, in $AC_TEST_OUT.
// Environment: AC_TEST_BASE_URL, AC_DATABASE_URL, AC_TEST_ACCTL,
// AC_TEST_WORKER, AC_TEST_OUT, CHROMIUM (default /usr/bin/chromium).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const env = (name) => {
	const v = process.env[name];
	if (!v) throw new Error(`${name} is not set: run t/e2e/run`);
	return v;
};
const base = env('AC_TEST_BASE_URL');
const out = env('AC_TEST_OUT');
mkdirSync(out, { recursive: true });

const acctl = (...args) => JSON.parse(execFileSync(env('AC_TEST_ACCTL'), args, { encoding: 'utf8' }));
const worker = () => execFileSync(env('AC_TEST_WORKER'), ['--once'], { stdio: 'ignore' });
// psql interpolates :'p1'... (quoted) only in a script read from stdin
const sql = (query, ...params) => execFileSync('psql', [env('AC_DATABASE_URL'), '-XAtq',
	'-v', 'ON_ERROR_STOP=1', ...params.flatMap((p, i) => ['-v', `p${i + 1}=${p}`])],
	{ encoding: 'utf8', input: query + ';\n' }).trim();

// What the operator set up: two strategies, a plan covering both with 50 credits.
const hex = randomBytes(4).toString('hex').toUpperCase();
const strategy = acctl('strategy', 'add', '--symbol', `E2E${hex}USDT`, '--timeframe', '1h',
	'--strategy', 'UT Bot', '--name', `UT Bot E2E ${hex}`);
const sid = strategy.id;
const token = strategy.token;
const second = acctl('strategy', 'add', '--symbol', `E2F${hex}USDT`, '--timeframe', '4h',
	'--strategy', 'UT Bot', '--name', `UT Bot E2F ${hex}`);
acctl('plan', 'add', '--name', `Pro ${hex}`, '--price-cents', '149900', '--currency', 'INR',
	'--months', '1', '--credits', '50', '--strategies', `${sid},${second.id}`);

const email = `e2e.${hex.toLowerCase()}@example.com`;
const password = 'a long enough passphrase';
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

// What a page must never do, at either width: log a console error (a CSP
// refusal among them), fail to load a resource, be wider than the window,
// cut a table off (a column out of sight with no scroll of its own), or
// carry an id twice. watch() collects a page's troubles as it goes;
// pageCheck() asserts the rest on the page shown and that none came.
const watch = (p) => {
	const troubles = [];
	p.on('console', (m) => { if (m.type() === 'error') troubles.push(`console: ${m.text()}`); });
	p.on('pageerror', (e) => troubles.push(`script: ${e.message}`));
	p.on('requestfailed', (r) => troubles.push(`failed: ${r.url()} ${r.failure()?.errorText}`));
	p.on('response', (r) => {
		if (r.status() >= 400 && r.request().resourceType() !== 'document')
			troubles.push(`${r.status()}: ${r.url()}`);
	});
	p.troubles = troubles;
	return p;
};
const pageCheck = async (p, label) => {
	const { width, inner, dups, cut } = await p.evaluate(() => {
		const seen = new Map();
		for (const el of document.querySelectorAll('[id]')) seen.set(el.id, (seen.get(el.id) || 0) + 1);
		const shown = (el) => el.offsetParent !== null;
		const cut = [];
		for (const t of document.querySelectorAll('table')) {
			if (!shown(t)) continue;
			const box = t.closest('.table-responsive');
			if (box ? box.scrollWidth > box.clientWidth + 1
				: t.getBoundingClientRect().right > window.innerWidth + 1)
				cut.push(t.id || t.className);
		}
		return { width: document.documentElement.scrollWidth, inner: window.innerWidth,
			dups: [...seen].filter(([, n]) => n > 1).map(([id]) => id), cut };
	});
	assert.ok(width <= inner + 10, `${label} is ${width}px wide in a ${inner}px window`);
	assert.deepEqual(dups, [], `${label} repeats ids`);
	assert.deepEqual(cut, [], `${label} cuts tables off`);
	assert.deepEqual(p.troubles.splice(0), [], `${label}: console errors, refusals or failed loads`);
};

const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, javaScriptEnabled: false });
const page = watch(await context.newPage());
const shot = async (name) => {
	await page.screenshot({ path: `${out}/${name}.png`, fullPage: true });
	await pageCheck(page, `${name} at 1280 px`);
};
const balance = async () => Number((await page.locator('#balance').textContent()).trim());

// A phone (390 px) with the desktop's cookies (storageState; undefined: a
// guest), its page watched like the desktop's.
const phoneOpen = async (storageState) => {
	const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true,
		javaScriptEnabled: false, storageState });
	return { phone, p: watch(await phone.newPage()) };
};
const phoneShot = async (p, name) => {
	await p.screenshot({ path: `${out}/phone-${name}.png`, fullPage: true });
	await pageCheck(p, `${name} at 390 px`);
};
// Each page at 390 px, checked, a screenshot of each as phone-<prefix><name>.png.
const phoneCheck = async (storageState, names, prefix) => {
	const { phone, p } = await phoneOpen(storageState);
	for (const name of names) {
		await p.goto(`${base}/${name}`);
		await phoneShot(p, `${prefix}${name || 'dashboard'}`);
	}
	await phone.close();
};

// TradingView's alert for the first strategy, accepted (202) and delivered
// (the worker's fan-out, then its deliveries).
const alert = async (fields) => {
	const body = JSON.stringify({ symbol: `E2E${hex}USDT`, timeframe: '60', ...fields,
		time: new Date().toISOString() });
	const res = await fetch(`${base}/hook/tv/${token}`, { method: 'POST', body,
		headers: { 'Content-Type': 'application/json' } });
	assert.equal(res.status, 202, await res.text());
	worker();
	worker();
};

await step('a guest sees the front page: strategies on offer, plans, sign-up', async () => {
	await page.goto(`${base}/`);
	assert.match(await page.locator('h1').textContent(), /TradingView signals/);
	assert.ok(await page.locator('[id^="strategy-"]').count() > 0, 'no strategy on offer');
	assert.match(await page.locator('[id^="strategy-"]').first().textContent(), /Signals, last 30 days/);
	await shot('front');
	await page.getByRole('link', { name: 'See plans and prices' }).click();
	await page.waitForURL(/\/plans$/);
	assert.ok(await page.getByRole('link', { name: 'Sign up to subscribe' }).count() > 0);
	await shot('front-plans');
	await page.goto(`${base}/`);
	await page.locator('#front-signup').click();
	await page.waitForURL(/\/signup$/);
	await phoneCheck(undefined, ['', 'plans', 'signup', 'login'], 'guest-');
});

await step('sign up, confirmed by the emailed link', async () => {
	await page.goto(`${base}/signup`);
	await shot('signup');
	await page.getByLabel('Name').fill('Eve <b>E2E</b>');
	await page.getByLabel('Email').fill(email);
	await page.getByLabel('Password').fill(password);
	await page.getByRole('button', { name: 'Sign up' }).click();
	await page.waitForURL(`${base}/signup?done=check_email`);
	assert.match(await page.locator('main').textContent(), /Check your email/);
	await shot('signup-sent');
	const mail = sql("SELECT body FROM email_outbox WHERE to_addr = :'p1'"
		+ " AND kind = 'signup_confirm' ORDER BY id DESC LIMIT 1", email);
	const link = mail.match(/https?:\/\/\S+\/signup\/confirm\?token=[\w-]+/);
	assert.ok(link, `no sign-up link in the outbox message: ${mail}`);
	await page.goto(link[0]);
	await page.getByLabel('The password you chose').fill(password);
	await shot('signup-confirm');
	await page.getByRole('button', { name: 'Create my account' }).click();
	await page.waitForURL(`${base}/?done=signed_up`);
	assert.match(await page.locator('h1').textContent(), /Hello, Eve <b>E2E<\/b>/);
	acctl('subscribe', '--email', email, '--plan', `Pro ${hex}`);
});

await step('log out and log in', async () => {
	await page.getByRole('button', { name: 'Log out' }).click();
	await page.waitForURL(/\/login/);
	await shot('login');
	await page.getByLabel('Email').fill(email);
	await page.getByLabel('Password').fill(password);
	await page.getByRole('button', { name: 'Log in' }).click();
	await page.waitForURL(`${base}/`);
	assert.equal(await balance(), 50);
	await shot('dashboard-empty');
});

await step('add an alarm', async () => {
	await page.goto(`${base}/alarms`);
	await page.getByLabel('Strategy').selectOption(String(sid));
	await page.getByLabel('Telegram').uncheck();
	await page.getByLabel('Email').check();
	await page.getByLabel('Minimum price').fill('1000');
	await page.getByRole('button', { name: 'Add alarm' }).click();
	await page.waitForURL(/done=alarm_added/);
	assert.match(await page.locator('.alarm').first().textContent(), new RegExp(`E2E${hex}USDT`));
	await shot('alarms');
});

await step('an alert becomes a notification and costs a credit', async () => {
	await alert({ action: 'buy', price: 42000, tp: 42840, sl: 41160 });
	await page.goto(`${base}/history`);
	const row = page.locator('#notifications tbody tr').first();
	assert.match(await row.textContent(), new RegExp(`E2E${hex}USDT.*BUY @ 42000.*email`, 's'));
	await shot('history');
	await page.goto(`${base}/`);
	assert.equal(await balance(), 49);
	await shot('dashboard');
	for (const name of ['trades', 'credits', 'plans', 'account', 'tokens']) {
		await page.goto(`${base}/${name}`);
		assert.equal(await page.locator('h1').count(), 1);
		await shot(name);
	}
	await page.goto(`${base}/tokens`);
	await page.getByLabel('Name').fill('my bot');
	await page.getByRole('button', { name: 'Create token' }).click();
	assert.match(await page.locator('#new-token').textContent(), /^act_/);
	await shot('tokens-created');
	// the POST redirected: a reload shows the list, neither a second token nor this one again
	await page.reload();
	assert.equal(await page.locator('#new-token').count(), 0);
	assert.equal(sql("SELECT count(*) FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE u.email = :'p1'", email), '1');
	// revoking asks first, on a page of its own
	await page.locator('#tokens').getByRole('link', { name: 'Revoke' }).click();
	await page.waitForURL(/\/tokens\/\d+\/revoke$/);
	assert.match(await page.locator('h1').textContent(), /Revoke this token\?/);
	await shot('token-revoke');
	await page.getByRole('button', { name: 'Revoke the token' }).click();
	await page.waitForURL(/done=token_revoked/);
	assert.match(await page.locator('#tokens').textContent(), /revoked/);
});

await step('connect Telegram: the deep link and its QR code, then disconnect', async () => {
	await page.goto(`${base}/account`);
	await page.getByRole('button', { name: 'Connect Telegram' }).click();
	const link = await page.locator('#telegram-link').getAttribute('href');
	assert.match(link, /^https:\/\/t\.me\/alertcast_e2e_bot\?start=[A-Za-z0-9_-]{20,}$/);
	await page.locator('#telegram-qr').screenshot({ path: `${out}/telegram-qr.png` });
	const read = execFileSync('zbarimg', ['--raw', '-q', `${out}/telegram-qr.png`], { encoding: 'utf8' }).trim();
	assert.equal(read, link);
	await shot('account-telegram-link');
	// the bot's /start with the code links the chat (what ac-hook does for Telegram)
	sql("UPDATE users SET telegram_chat_id = '9' || (random() * 1e9)::bigint, telegram_username = 'e2e_tg'"
		+ " WHERE email = :'p1'", email);
	await page.goto(`${base}/account`);
	assert.match(await page.locator('#telegram-connected').textContent(), /connected.*as @e2e_tg/s);
	assert.equal(await page.getByRole('button', { name: 'Connect Telegram', exact: true }).count(), 0);
	await shot('account-telegram-connected');
	await page.getByRole('button', { name: 'Disconnect Telegram' }).click();
	assert.match(await page.locator('[role=status]').textContent(), /Telegram disconnected/);
	assert.equal(sql("SELECT count(*) FROM users WHERE email = :'p1' AND telegram_chat_id IS NULL", email), '1');
});

await step('a SELL closes the trade: its result on the trades page and in the ledger', async () => {
	await alert({ action: 'sell', price: 42420 });
	await page.goto(`${base}/trades`);
	const closed = page.locator('#trades tbody tr', { hasText: 'closed' }).first();
	assert.match(await closed.textContent(), /42000.*42420.*420/s);
	await shot('trades-closed');
	await page.goto(`${base}/credits`);
	assert.match(await page.locator('#ledger tbody tr').first().textContent(), /SELL|CLOSE/);
	await shot('credits-used');
});

await step('the public track record: 404 until opted in, then its figures at both widths', async () => {
	const path = `/strategies/${sid}/record`;
	assert.equal((await fetch(`${base}${path}`)).status, 404);
	sql("UPDATE strategies SET public_record = true WHERE id = :'p1'", sid);
	const guest = await browser.newContext({ viewport: { width: 1280, height: 860 },
		javaScriptEnabled: false });
	const g = watch(await guest.newPage());
	await g.goto(`${base}/`);
	// the card shows the published record's own figures
	const card = await g.locator(`#strategy-${sid} [data-record]`).textContent();
	assert.match(card, /Win rate\s*100.0 %/);
	assert.match(card, /\+1.00 %/);
	await g.screenshot({ path: `${out}/guest-front-record.png`, fullPage: true });
	await g.locator(`#record-link-${sid}`).click();
	await g.waitForURL(`${base}${path}`);
	assert.match(await g.locator('#record-win-rate').textContent(), /100.0 %/);
	assert.match(await g.locator('#record-total').textContent(), /\+1.00 %/);
	assert.equal(await g.locator('#record-equity svg polyline').count(), 1);
	assert.equal(await g.locator('#record-recent tbody tr').count(), 2);
	await g.screenshot({ path: `${out}/guest-record.png`, fullPage: true });
	await pageCheck(g, 'the track record at 1280 px');
	await guest.close();
	const { phone, p } = await phoneOpen(undefined);
	await p.goto(`${base}/`);
	await phoneShot(p, 'guest-front-record');
	await p.goto(`${base}${path}`);
	await phoneShot(p, 'guest-record');
	await phone.close();
});

await step("the subscriber's journey on a phone: alarms, trades, credits, tokens", async () => {
	const { phone, p } = await phoneOpen(await context.storageState());
	// add an alarm on the second strategy, then delete it through its confirm page
	await p.goto(`${base}/alarms`);
	await p.getByLabel('Strategy').selectOption(String(second.id));
	await p.getByLabel('Email').check();
	await p.getByRole('button', { name: 'Add alarm' }).click();
	await p.waitForURL(/done=alarm_added/);
	await phoneShot(p, 'journey-alarm-added');
	const card = p.locator('.alarm', { hasText: `E2F${hex}USDT` });
	await card.getByRole('link', { name: 'Delete' }).click();
	await p.waitForURL(/\/alarms\/\d+\/delete$/);
	await phoneShot(p, 'journey-alarm-delete');
	await p.getByRole('button', { name: 'Delete the alarm' }).click();
	await p.waitForURL(/done=alarm_deleted/);
	assert.equal(await p.locator('.alarm', { hasText: `E2F${hex}USDT` }).count(), 0);
	// the trades and the ledger as cards: side, status and PnL in sight
	await p.goto(`${base}/trades`);
	assert.equal(await p.locator('#trades').isVisible(), false);
	const trade = p.locator('#trades-list li', { hasText: 'closed' }).first();
	assert.ok(await trade.isVisible());
	assert.match(await trade.textContent(), /SELL|BUY/);
	assert.match(await trade.locator('strong.text-success').textContent(), /420/);
	await phoneShot(p, 'journey-trades');
	await p.goto(`${base}/credits`);
	assert.ok(await p.locator('#ledger-list li').first().isVisible());
	await phoneShot(p, 'journey-credits');
	// a token made on the phone is shown once
	await p.goto(`${base}/tokens`);
	await p.getByLabel('Name').fill('phone bot');
	// the keyboard's Go, as on a phone (chromium's phone emulation without
	// JavaScript never settles a scroll to a button below the fold)
	await p.getByLabel('Name').press('Enter');
	await p.waitForURL(/done=token_created/);
	assert.match(await p.locator('#new-token').textContent(), /^act_/);
	await phoneShot(p, 'journey-token');
	await p.reload();
	assert.equal(await p.locator('#new-token').count(), 0);
	assert.ok(await p.locator('#tokens-list li', { hasText: 'phone bot' }).isVisible());
	await phone.close();
});

await step('a new subscriber on a phone: sign up by the emailed link, Telegram, a password reset', async () => {
	const { phone, p } = await phoneOpen(undefined);
	const email2 = `e2e.phone.${hex.toLowerCase()}@example.com`;
	const link = (kind, path) => {
		const mail = sql("SELECT body FROM email_outbox WHERE to_addr = :'p1' AND kind = :'p2'"
			+ " ORDER BY id DESC LIMIT 1", email2, kind);
		const m = mail.match(new RegExp(`https?://\\S+${path}\\?token=[\\w-]+`));
		assert.ok(m, `no ${kind} link in the outbox message: ${mail}`);
		return m[0];
	};
	await p.goto(`${base}/`);
	await p.locator('#front-signup').click();
	await p.waitForURL(/\/signup$/);
	await p.getByLabel('Name').fill('Pat Phone');
	await p.getByLabel('Email').fill(email2);
	await p.getByLabel('Password').fill(password);
	await p.getByLabel('Password').press('Enter');
	await p.waitForURL(`${base}/signup?done=check_email`);
	await phoneShot(p, 'journey-signup-sent');
	await p.goto(link('signup_confirm', '/signup/confirm'));
	await p.getByLabel('The password you chose').fill(password);
	await phoneShot(p, 'journey-signup-confirm');
	await p.getByLabel('The password you chose').press('Enter');
	await p.waitForURL(`${base}/?done=signed_up`);
	assert.match(await p.locator('h1').textContent(), /Hello, Pat Phone/);
	await phoneShot(p, 'journey-dashboard');
	// Telegram: the deep link to tap (the QR code is for a computer's page)
	await p.goto(`${base}/account`);
	await p.getByRole('button', { name: 'Connect Telegram' }).press('Enter');
	assert.match(await p.locator('#telegram-link').getAttribute('href'), /^https:\/\/t\.me\/alertcast_e2e_bot\?start=/);
	await phoneShot(p, 'journey-telegram-link');
	// log out, forget the password, reset it through the emailed link
	await p.getByRole('button', { name: 'Log out' }).press('Enter');
	await p.waitForURL(/\/login/);
	await p.goto(`${base}/password/forgot`);
	await p.getByLabel('Email').fill(email2);
	await p.getByLabel('Email').press('Enter');
	assert.match(await p.locator('main').textContent(), /on its way/);
	await phoneShot(p, 'journey-forgot');
	worker();
	await p.goto(link('password_reset', '/password/reset'));
	await p.getByLabel('New password').fill('a phone passphrase here');
	await phoneShot(p, 'journey-reset');
	await p.getByLabel('New password').press('Enter');
	await p.waitForURL(/done=reset/);
	await p.getByLabel('Email').fill(email2);
	await p.getByLabel('Password').fill('a phone passphrase here');
	await p.getByLabel('Password').press('Enter');
	await p.waitForURL(`${base}/`);
	await phone.close();
});

await step('phone-sized pages: none cut off, no CSP refusal, no duplicate id', async () => {
	await phoneCheck(await context.storageState(),
		['', 'history', 'alarms', 'account', 'trades', 'credits', 'plans', 'tokens', 'payments'], '');
});

await step('log out', async () => {
	await page.goto(`${base}/`);
	await page.getByRole('button', { name: 'Log out' }).click();
	await page.waitForURL(/\/login\?done=logged_out/);
	await page.goto(`${base}/history`);
	assert.match(page.url(), /\/login$/);
});

await step('password reset through the outbox', async () => {
	await page.goto(`${base}/password/forgot`);
	await page.getByLabel('Email').fill(email);
	await page.getByRole('button', { name: 'Email me a link' }).click();
	assert.match(await page.locator('main').textContent(), /on its way/);
	worker();
	const mail = sql("SELECT body FROM email_outbox WHERE to_addr = :'p1' AND status = 'sent'"
		+ " AND provider = 'outbox' ORDER BY id DESC LIMIT 1", email);
	const link = mail.match(/https?:\/\/\S+\/password\/reset\?token=[\w-]+/);
	assert.ok(link, `no reset link in the outbox message: ${mail}`);
	await page.goto(link[0]);
	await shot('reset');
	await page.getByLabel('New password').fill('another long passphrase');
	await page.getByRole('button', { name: 'Set password' }).click();
	await page.waitForURL(/done=reset/);
	await page.getByLabel('Email').fill(email);
	await page.getByLabel('Password').fill('another long passphrase');
	await page.getByRole('button', { name: 'Log in' }).click();
	await page.waitForURL(`${base}/`);
	await page.goto(link[0]);
	assert.match(await page.locator('main').textContent(), /not valid any more/);
});

await browser.close();
console.log(`e2e: ${failures.length ? `FAILED: ${failures.join(', ')}` : 'all passed'}; screenshots in ${out}`);
process.exit(failures.length ? 1 : 0);
