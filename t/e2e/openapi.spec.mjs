// openapi.spec.mjs — the API's description, against the stack t/e2e/run
// starts (no browser):
//   1. docs/openapi.yaml passes Redocly CLI's recommended rules
//      (docs/redocly.yaml) with no error and no warning; the CLI is the one
//      package-lock.json pins, run from node_modules (no network);
//   2. GET /api/v1/openapi.yaml through nginx, with no token, answers 200
//      YAML, cacheable, with exactly the file's bytes;
//   3. every operation it describes is answered by ac-api through nginx:
//      without a token each is a 401, or its own answer for a public one
//      (the route exists), never the router's 404 "no such route" or a 405.
// Environment: AC_TEST_BASE_URL.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const base = process.env.AC_TEST_BASE_URL;
if (!base) throw new Error('AC_TEST_BASE_URL is not set: run t/e2e/run');
const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const specPath = here('../../docs/openapi.yaml');
const spec = readFileSync(specPath);

let failed = 0;
const step = async (name, fn) => {
	try {
		await fn();
		console.log(`ok - ${name}`);
	} catch (e) {
		failed++;
		console.log(`not ok - ${name}\n${e.stack}`);
	}
};

await step('Redocly CLI lint: no error, no warning', async () => {
	const lint = spawnSync(process.execPath, [here('node_modules/@redocly/cli/bin/cli.js'), 'lint',
		'--format=stylish', `--config=${here('../../docs/redocly.yaml')}`, specPath], {
		encoding: 'utf8',
		env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
		timeout: 60000,
	});
	const said = `${lint.stdout}${lint.stderr}`;
	const problems = said.split('\n').filter((l) => /^\s*\d+:\d+\s+(error|warning)\s/.test(l));
	assert.deepEqual(problems, [], said);
	assert.equal(lint.status, 0, said);
	assert.match(said, /Your API description is valid/, said);
	assert.doesNotMatch(said, /You have \d+ warning/, said);
});

await step('GET /api/v1/openapi.yaml: public, YAML, cacheable, the file byte for byte', async () => {
	const res = await fetch(`${base}/api/v1/openapi.yaml`);
	assert.equal(res.status, 200);
	assert.match(res.headers.get('content-type'), /^(application\/yaml|text\/yaml; charset=utf-8)/);
	assert.match(res.headers.get('cache-control') ?? '', /max-age=\d+/);
	assert.ok(res.headers.get('etag'), 'an ETag to revalidate with');
	const body = Buffer.from(await res.arrayBuffer());
	assert.equal(body.length, spec.length);
	assert.ok(body.equals(spec), 'the body is not docs/openapi.yaml');
	const again = await fetch(`${base}/api/v1/openapi.yaml`,
		{ headers: { 'If-None-Match': res.headers.get('etag') } });
	assert.equal(again.status, 304);
});

await step('every operation in the description is a route of ac-api', async () => {
	const server = /^servers:\n {2}- url: (\S+)$/m.exec(spec.toString())[1];
	let path = null, n = 0;
	for (const line of spec.toString().split('\n')) {
		if (line === 'components:')
			break;
		const p = /^ {2}(\/\S*):$/.exec(line);
		if (p) {
			path = p[1];
			continue;
		}
		const m = /^ {4}(get|put|post|delete|patch):$/.exec(line);
		if (!m || !path)
			continue;
		const url = `${base}${server}${path.replaceAll(/\{[^}]+\}/g, '1')}`;
		const res = await fetch(url, { method: m[1].toUpperCase() });
		const error = (await res.json().catch(() => ({}))).error ?? {};
		// a route's own 404 (a strategy with no public record) is not a missing route
		assert.ok(!(res.status === 404 && error.message === 'no such route') && res.status !== 405,
			`${m[1].toUpperCase()} ${server}${path}: ${res.status} ${error.code} ${error.message}`);
		n++;
	}
	assert.ok(n >= 17, `only ${n} operations found`);
});

process.exit(failed ? 1 : 0);
