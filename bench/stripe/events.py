#!/usr/bin/python3
"""events.py — N distinct, signed Stripe events for bench/stripe/run, one a
line: "<Stripe-Signature>\t<body>". Usage: events.py N WHSEC OUT."""
import hashlib
import hmac
import json
import sys
import time

n, secret, out = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3]
t = str(int(time.time()))
with open(out, "w") as f:
    for i in range(n):
        # an invoice.paid of an unlinked subscription: stored, then (by the
        # worker, not measured here) kept until its checkout arrives
        body = json.dumps({
            "id": "evt_bench%09d" % i, "object": "event", "api_version": "2024-06-20",
            "created": int(t), "livemode": False, "pending_webhooks": 1,
            "type": "invoice.paid",
            "data": {"object": {"id": "in_bench%09d" % i, "object": "invoice",
                                "customer": "cus_bench%06d" % (i % 1000),
                                "subscription": "sub_bench%06d" % (i % 1000),
                                "status": "paid", "amount_paid": 49900, "currency": "inr",
                                "lines": {"object": "list", "data": [{
                                    "price": {"id": "price_bench"},
                                    "period": {"start": int(t), "end": int(t) + 2592000}}]}}},
        }, separators=(",", ":"))
        sig = hmac.new(secret, (t + "." + body).encode(), hashlib.sha256).hexdigest()
        f.write("t=%s,v1=%s\t%s\n" % (t, sig, body))
