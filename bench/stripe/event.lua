-- event.lua — wrk script for bench/stripe/run: each request POSTs the next
-- pre-signed Stripe event of AC_BENCH_EVENTS ("<signature>\t<body>" lines),
-- each thread its own slice, so every 200 is one new stored event.
local file = os.getenv("AC_BENCH_EVENTS") or error("AC_BENCH_EVENTS is not set")
local threads, next_id = {}, 0

function setup(thread)
	thread:set("id", next_id)
	next_id = next_id + 1
	table.insert(threads, thread)
end

function init(args)
	sigs, bodies = {}, {}
	local n, k = 0, 0
	for line in io.lines(file) do
		n = n + 1
		-- two wrk threads: the even lines are thread 0's, the odd ones thread 1's
		if n % 2 == id then
			local tab = line:find("\t", 1, true)
			k = k + 1
			sigs[k] = line:sub(1, tab - 1)
			bodies[k] = line:sub(tab + 1)
		end
	end
	count, i = k, 0
	n200, nother = 0, 0
end

function request()
	i = i + 1
	if i > count then i = 1 end	-- past the end: copies (answered 200, duplicate)
	return wrk.format("POST", "/hook/stripe", { ["Content-Type"] = "application/json",
		["Stripe-Signature"] = sigs[i] }, bodies[i])
end

function response(status, headers, body)
	if status == 200 then n200 = n200 + 1 else nother = nother + 1 end
end

function done(summary, latency, requests)
	local a, b = 0, 0
	for _, t in ipairs(threads) do
		a = a + t:get("n200")
		b = b + t:get("nother")
	end
	io.write(string.format("AC_BENCH requests=%d duration_us=%d s200=%d other=%d p50_us=%d p99_us=%d errors=%d\n",
		summary.requests, summary.duration, a, b, latency:percentile(50), latency:percentile(99),
		summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
