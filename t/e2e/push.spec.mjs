// push.spec.mjs — "Enable push on this device" on the account page, in a
// real browser against the stack t/e2e/run starts (with AC_ONESIGNAL_APP_ID
// set). There is no network here, so OneSignal's CDN is answered by
// page.route with a small stand-in for the v16 SDK that records what
// www/js/push.js asks of it (init, login, requestPermission) and then has a
// subscription id. Checked: the card at 1280 and 390 px (screenshots in
// $AC_TEST_OUT), login with the user's id, the id stored (psql) and shown
// as linked after the reload, turning it off, and no CSP refusal.
// Environment: AC_TEST_BASE_URL, AC_DATABASE_URL, AC_TEST_ACCTL,
// AC_ONESIGNAL_APP_ID, AC_TEST_OUT, CHROMIUM (default /usr/bin/chromium).
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
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
const appId = env('AC_ONESIGNAL_APP_ID');
mkdirSync(out, { recursive: true });

const acctl = (...args) => JSON.parse(execFileSync(env('AC_TEST_ACCTL'), args, { encoding: 'utf8' }));
const sql = (query, ...params) => execFileSync('psql', [env('AC_DATABASE_URL'), '-XAtq',
	'-v', 'ON_ERROR_STOP=1', ...params.flatMap((p, i) => ['-v', `p${i + 1}=${p}`])],
	{ encoding: 'utf8', input: query + ';\n' }).trim();

const hex = randomBytes(4).toString('hex');
const email = `push.${hex}@example.com`;
const password = 'a long enough passphrase';
const user = acctl('user', 'add', '--email', email, '--password', password, '--name', 'Pia Push');
const device = randomUUID(), phoneDevice = randomUUID();

// The stand-in SDK: window.OneSignalDeferred's queue run with a OneSignal
// whose calls are said on the console (they must outlive the reload).
const fakeSdk = `(function () {
	var say = function (c) { console.log('onesignal-fake ' + JSON.stringify(c)); };
	var sub = { id: null, addEventListener: function () {} };
	var OneSignal = {
		init: function (o) { say(['init', o.appId]); return Promise.resolve(); },
		login: function (id) { say(['login', id]); return Promise.resolve(); },
		Notifications: { requestPermission: function () {
			say(['requestPermission']); sub.id = ${JSON.stringify(device)}; return Promise.resolve(true); } },
		User: { PushSubscription: sub }
	};
	var queue = window.OneSignalDeferred || [];
	window.OneSignal = OneSignal;
	window.OneSignalDeferred = { push: function (f) { return f(OneSignal); } };
	queue.forEach(function (f) { f(OneSignal); });
})();`;

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

const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
const page = await context.newPage();
const calls = [], refused = [], cdn = [];
page.on('console', (m) => {
	const t = m.text();
	if (t.startsWith('onesignal-fake ')) calls.push(JSON.parse(t.slice(15)));
	if (/Content Security Policy/.test(t)) refused.push(t);
});
await page.route('https://cdn.onesignal.com/**', (route) => {
	cdn.push(route.request().url());
	return route.fulfill({ status: 200, contentType: 'application/javascript', body: fakeSdk });
});

await step('log in; the account page has the push card, the SDK only there', async () => {
	await page.goto(`${base}/login`);
	await page.getByLabel('Email').fill(email);
	await page.getByLabel('Password').fill(password);
	await page.getByRole('button', { name: 'Log in' }).click();
	await page.waitForURL(`${base}/`);
	assert.deepEqual(cdn, [], 'the dashboard loaded OneSignal');
	await page.goto(`${base}/account`);
	const btn = page.locator('#push-enable');
	assert.equal(await btn.getAttribute('data-app-id'), appId);
	assert.equal(await btn.getAttribute('data-external-id'), String(user.id));
	assert.match(await page.locator('#push').textContent(), /Push notifications.*no device/s);
	await page.waitForFunction(() => window.OneSignal !== undefined);
	assert.deepEqual(cdn, ['https://cdn.onesignal.com/sdks/web/v16/OneSignalSDK.page.js']);
	await page.locator('#push').screenshot({ path: `${out}/push-card.png` });
	await page.screenshot({ path: `${out}/push-account.png`, fullPage: true });
});

await step('enable: init, login with the user id, permission; the device is stored', async () => {
	await page.getByRole('button', { name: 'Enable push on this device' }).click();
	await page.waitForURL(/\/account\?done=push_linked/);
	assert.deepEqual(calls, [['init', appId], ['login', String(user.id)], ['requestPermission']]);
	assert.equal(sql(`SELECT string_agg(d.subscription_id || ' ' || d.label, ',') FROM push_devices d
		JOIN users u ON u.id = d.user_id WHERE u.email = :'p1'`, email), `${device} Chrome on Linux`);
	await page.reload();
	assert.match(await page.locator('#push-linked').textContent(), /push on/);
	assert.match(await page.locator('#push-devices').textContent(), /Chrome on Linux/);
	assert.match(await page.locator('[role=status]').textContent(), /Push is on/);
	await page.locator('#push').screenshot({ path: `${out}/push-card-linked.png` });
});

await step('phone-sized: the card fits, nothing cut off', async () => {
	const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true,
		storageState: await context.storageState() });
	const p = await phone.newPage();
	// the phone is a second device: its SDK hands out its own id
	await p.route('https://cdn.onesignal.com/**', (route) =>
		route.fulfill({ status: 200, contentType: 'application/javascript',
			body: fakeSdk.replace(JSON.stringify(device), JSON.stringify(phoneDevice)) }));
	p.on('console', (m) => { if (/Content Security Policy/.test(m.text())) refused.push(m.text()); });
	await p.goto(`${base}/account#push`);
	assert.ok(await p.locator('#push-enable').isVisible());
	const width = await p.evaluate(() => document.documentElement.scrollWidth);
	assert.ok(width <= 400, `/account is ${width}px wide on a phone`);
	await p.locator('#push-enable').click();
	await p.waitForURL(/\/account\?done=push_linked/);
	// both devices linked, both listed; the first is not replaced
	assert.equal(sql(`SELECT count(*) FROM push_devices d JOIN users u ON u.id = d.user_id
		WHERE u.email = :'p1'`, email), '2');
	assert.equal(await p.locator('#push-devices li').count(), 2);
	const wide = await p.evaluate(() => document.documentElement.scrollWidth);
	assert.ok(wide <= 400, `/account with two devices is ${wide}px wide on a phone`);
	await p.screenshot({ path: `${out}/phone-push-account.png`, fullPage: true });
	await phone.close();
});

await step('remove: each device is forgotten by its own button', async () => {
	await page.reload();
	for (let left = 1; left >= 0; left--) {
		await page.locator('#push-devices li').first().getByRole('button', { name: 'Remove' }).click();
		await page.waitForURL(/\/account\?done=push_unlinked/);
		assert.equal(sql(`SELECT count(*) FROM push_devices d JOIN users u ON u.id = d.user_id
			WHERE u.email = :'p1'`, email), String(left));
	}
	assert.equal(await page.locator('#push-unlinked').count(), 1);
	await page.locator('#push').screenshot({ path: `${out}/push-card-removed.png` });
});

await step('no CSP refusal', async () => {
	assert.deepEqual(refused, []);
});

await browser.close();
console.log(`e2e: ${failures.length ? `FAILED: ${failures.join(', ')}` : 'all passed'}; screenshots in ${out}`);
process.exit(failures.length ? 1 : 0);
