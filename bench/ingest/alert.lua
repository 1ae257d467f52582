-- alert.lua — wrk script for bench/ingest/run: every request is a new, valid
-- TradingView alert for the bench strategy (BTCUSDT, 1h), so each 2xx answer
-- should be one stored signal. Uniqueness: the price encodes the run
-- (AC_BENCH_RUN), the wrk thread and a per-thread counter.
--   AC_BENCH_PATH  /hook/tv/<token>
--   AC_BENCH_RUN   a small integer, different for each scenario of one bench
-- bench/health/run also sets:
--   AC_BENCH_ACTION      "buy" (default) or "heartbeat" (sent without tp and sl)
--   AC_BENCH_STRATEGIES  N: the path is AC_BENCH_PATH followed by 0 ... N-1 in
--                        turn (N strategies taking action and price alone)

local path = os.getenv("AC_BENCH_PATH") or error("AC_BENCH_PATH is not set")
local run = tonumber(os.getenv("AC_BENCH_RUN") or "0")
local action = os.getenv("AC_BENCH_ACTION") or "buy"
local strategies = tonumber(os.getenv("AC_BENCH_STRATEGIES") or "0")
local threads = {}
local next_id = 0

function setup(thread)
	thread:set("id", next_id)
	next_id = next_id + 1
	table.insert(threads, thread)
end

function init(args)
	counter = 0
	n200, n202, n4xx, n5xx, nother = 0, 0, 0, 0, 0
	wrk.headers["Content-Type"] = "application/json"
end

function request()
	counter = counter + 1
	local price = 40000 + run * 10000 + id * 1000 + counter / 1000
	local now = os.date("!%Y-%m-%dT%H:%M:%SZ")
	if strategies > 0 then
		local body = string.format('{"action":"%s","price":%.3f,"time":"%s"}', action,
			price, now)
		return wrk.format("POST", path .. ((counter * 7 + id) % strategies), nil, body)
	end
	local body = string.format(
		'{"symbol":"BTCUSDT","timeframe":"60","action":"buy","price":%.3f,' ..
		'"tp":%.3f,"sl":%.3f,"time":"%s"}',
		price, price * 1.02, price * 0.98, now)
	return wrk.format("POST", path, nil, body)
end

function response(status, headers, body)
	if status == 202 then
		n202 = n202 + 1
	elseif status == 200 then
		n200 = n200 + 1
	elseif status >= 400 and status < 500 then
		n4xx = n4xx + 1
	elseif status >= 500 then
		n5xx = n5xx + 1
	else
		nother = nother + 1
	end
end

function done(summary, latency, requests)
	local t = { n200 = 0, n202 = 0, n4xx = 0, n5xx = 0, nother = 0 }
	for _, thread in ipairs(threads) do
		for k, _ in pairs(t) do
			t[k] = t[k] + (thread:get(k) or 0)
		end
	end
	local e = summary.errors
	io.write(string.format(
		"AC_BENCH requests=%d duration_us=%d s202=%d s200=%d s4xx=%d s5xx=%d sother=%d " ..
		"p50_us=%d p99_us=%d err_connect=%d err_read=%d err_write=%d err_timeout=%d\n",
		summary.requests, summary.duration, t.n202, t.n200, t.n4xx, t.n5xx, t.nother,
		latency:percentile(50), latency:percentile(99),
		e.connect, e.read, e.write, e.timeout))
end
