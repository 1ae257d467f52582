#!/usr/bin/python3
"""stripe.py — a local fake of Stripe Billing for tests: the API calls
alertcast makes (form-encoded, bracket notation, Bearer secret key,
Idempotency-Key), the hosted Checkout and customer-portal pages a browser
test clicks through, and signed webhook deliveries to alertcast, shaped as
API version 2024-06-20 (the classic shapes).

    python3 t/fakes/stripe.py [--port P] [--ready FILE] --webhook URL
                              --secret WHSEC [--api-key KEY]

Port 0 picks a free one; FILE receives {"http": P} once it listens. URL is
where events are POSTed (alertcast's http://127.0.0.1:N/hook/stripe), WHSEC
the whsec_... signing secret. Clients must send Authorization: Bearer KEY
(or HTTP Basic with KEY as user name); without --api-key any key starting
with sk_ is accepted. Otherwise 401 {"error": {"type":
"invalid_request_error", "message": ...}}. Every API request is recorded
(method, path, parsed form params, Idempotency-Key, whether auth was right,
time, status answered).

API (answers carry Request-Id; errors are Stripe's {"error": {"type",
"code", "message", "param"}}; the fake's base URL is http://127.0.0.1:P):
    POST /v1/checkout/sessions       mode=subscription, line_items[0][price]
        (price_...), line_items[0][quantity], success_url, cancel_url;
        optional client_reference_id, customer (a cus_ the fake made),
        customer_email, metadata[...]. Missing or invalid -> 400 naming the
        param. Idempotency-Key: same key, same params -> the first answer
        again (recorded "dup": true, header Idempotent-Replayed: true); same
        key, other params -> 400 type idempotency_error. A
        checkout.session: {"id": "cs_test_...", "object":
        "checkout.session", "mode", "status": "open", "url":
        BASE/checkout/ID, "client_reference_id", "metadata", "customer":
        null, "subscription": null, "success_url", "cancel_url",
        "amount_total": null, "created", ...}
    GET  /v1/checkout/sessions/ID    the session now (404 when unknown)
    POST /v1/billing_portal/sessions customer (required, a cus_ the fake
        made, else 400 "No such customer"), return_url -> {"id": "bps_...",
        "object": "billing_portal.session", "customer", "return_url",
        "url": BASE/billing/ID}
    GET  /v1/subscriptions/ID        the subscription
    GET  /v1/customers/ID, GET /v1/invoices/ID   (extras) the object
    POST /v1/customers               (extra) email, metadata[...] -> customer

Pages (plain HTML, no JS):
    GET  /checkout/ID        title "Pay", the price id, a form POST
        /checkout/ID/pay with <button id="pay">Pay</button>, a link Cancel
        (id "cancel") to cancel_url
    POST /checkout/ID/pay    completes it as Stripe does: a customer cus_...
        (or the session's), a subscription sub_... (active, one item with
        the price, period now .. now + 30 days), a paid invoice in_...
        (billing_reason subscription_create, amount from config "amounts"
        per price, default 49900, currency inr); the session becomes
        "complete" with customer and subscription ids; then delivers
        checkout.session.completed, customer.subscription.created,
        invoice.paid, in that order, synchronously, and answers 303 to
        success_url with {CHECKOUT_SESSION_ID} replaced. Paying a complete
        session again only redirects.
    GET  /billing/ID         a form POST /billing/ID/cancel with a button
        "Cancel subscription" (id "cancel"), a link Return (id "return")
    POST /billing/ID/cancel  cancels the customer's live subscriptions at
        once (status canceled, canceled_at, ended_at), delivers
        customer.subscription.deleted for each, 303 to return_url

Events: {"id": "evt_...", "object": "event", "api_version": "2024-06-20",
"created", "livemode": false, "pending_webhooks": 1, "request": {"id":
null, "idempotency_key": null}, "type", "data": {"object": OBJ}} and
customer.subscription.updated carries data.previous_attributes. Within one
subscription "created" is strictly increasing. Each delivery is signed
when sent: Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256, key the whole
whsec string, over "<t>.<raw body>">. Deliveries are recorded: event id,
type, signature mode, status answered (0 with "error" for no answer),
time, latency_ms, attempt, source (pay|portal|send|replay|scenario).

Control (JSON in and out):
    POST /_stripe/reset      forget objects, records and config
    POST /_stripe/config     {"latency_ms": N, "fail_status": S,
        "fail_times": N, "amounts": {"price_x": 49900}} merged into the
        config; API answers (not pages, not webhooks) wait latency_ms; the
        next fail_times API calls answer fail_status with a Stripe error
        (-1: forever, 0: off)
    GET  /_stripe/requests   the recorded API requests, oldest first
    GET  /_stripe/deliveries the recorded webhook deliveries, oldest first
    GET  /_stripe/events     every event the fake made, oldest first
    POST /_stripe/send       {"event": {...} | "event_id": ID, "signature":
        "good"|"bad"|"stale"|"none"|"multi", "times": N (1), "concurrent":
        false} POSTs it to the webhook, no retries. bad: a wrong v1; stale:
        t 400 s ago with the right HMAC for that t; none: no header; multi:
        two v1, the first wrong, the second right. Concurrent copies are
        released together from threads. -> {"answers": [{"status", "body"}]}
    POST /_stripe/replay     {"event_id": ID, "signature": "good"} the event
        again, signed now (a replay three days later) -> {"answers": [...]}
    POST /_stripe/scenario   {"seed": S, "users": [{"ref": R, "session":
        "cs_... (optional)"}], "prices": ["price_a", "price_b"],
        "min_events": 1000, "duplicate_rate": 0.2, "concurrency": 8,
        "shuffle": true}
        Simulates each user with random.Random(seed) (decisions are
        deterministic; ids are random, so runs never collide): checkout
        completed (checkout.session.completed, customer.subscription.created,
        invoice.paid, customer.subscription.updated), then 0-6 further
        steps, each one of: renewal paid (invoice.paid, subscription updated
        with the new period); renewal failed (invoice.payment_failed,
        updated past_due; then either invoice.paid of the same invoice on
        retry and updated active, or never paid: deleted, or updated
        unpaid); plan change (updated with another price, later invoices
        carry it); cancel at period end (updated cancel_at_period_end true,
        then deleted at the end); immediate cancel (deleted). Every
        invoice event is followed by a subscription event, so a
        subscription's last event by created is customer.subscription.*.
        Times come from a logical clock per user, shifted so that the user's
        last event is about a minute ago. After one pass over all users it
        goes round them again (a user's live subscription is first
        canceled, then a new checkout) until min_events exist. Then every
        event is delivered with good signatures from `concurrency` threads,
        shuffled across users when shuffle; a duplicate_rate fraction is
        sent twice, half of those at the same time as the original, half
        again at the end. A non-2xx or no answer is retried up to 5 times
        (0.05 s, doubling). Answers when all are done: {"events": N,
        "deliveries": M (POSTs made, retries included), "answers":
        {"200": k, "error": n, ...} (per POST), "failed_deliveries":
        [{"event_id", "type", "status", "attempts"}], "seconds",
        "expected": {"subscriptions": {"sub_...": {"ref", "customer",
        "status", "price", "current_period_end", "cancel_at_period_end",
        "last_event", "last_type", "last_is_subscription_event"}} (from the
        subscription's last customer.subscription.* event),
        "invoices_paid": {"in_...": {"subscription", "ref", "price",
        "period_end", "amount_paid"}}, "invoices_failed_unpaid": [in_...],
        "users": {ref: [sub_..., ...]}}}
        An invoice's period_start/period_end are its line's period (the
        service period it pays for).

Handlers never take the server down: an exception answers 500 with its
message. Python's standard library only.
"""
import argparse
import base64
import copy
import hashlib
import hmac
import html
import http.client
import json
import os
import random
import secrets
import string
import threading
import time
import traceback
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API_VERSION = "2024-06-20"
DAY = 86400
PERIOD = 30 * DAY
ALNUM = string.ascii_letters + string.digits
TIME_KEYS = {"created", "current_period_start", "current_period_end", "canceled_at",
             "ended_at", "start", "end", "period_start", "period_end", "start_date",
             "cancel_at", "expires_at"}

ARGS = None
LOCK = threading.RLock()
STATE = {}


def fresh_state():
    return {"sessions": {}, "portals": {}, "customers": {}, "subs": {}, "invoices": {},
            "idem": {}, "requests": [], "deliveries": [], "events": [], "last_created": {},
            "config": {"latency_ms": 0, "fail_status": 500, "fail_times": 0, "amounts": {}},
            "seq": 0}


def rid(prefix, n=24):
    return prefix + "".join(secrets.choice(ALNUM) for _ in range(n))


def public(obj):
    """A copy without the fake's private keys (those starting with _)."""
    if isinstance(obj, dict):
        return {k: public(v) for k, v in obj.items() if not k.startswith("_")}
    if isinstance(obj, list):
        return [public(v) for v in obj]
    return obj


def err(status, message, etype="invalid_request_error", code=None, param=None):
    e = {"type": etype, "message": message}
    if code:
        e["code"] = code
    if param:
        e["param"] = param
    return status, {"error": e}


def amount_of(price):
    with LOCK:
        return int(STATE["config"]["amounts"].get(price, 49900))


# ---------------------------------------------------------------- objects

def make_customer(email=None, metadata=None, now=None):
    c = {"id": rid("cus_", 14), "object": "customer", "email": email,
         "metadata": metadata or {}, "created": int(now or time.time()), "livemode": False}
    return c


def make_sub(customer, price, start, metadata=None):
    end = start + PERIOD
    return {"id": rid("sub_"), "object": "subscription", "customer": customer,
            "status": "active", "cancel_at_period_end": False, "cancel_at": None,
            "canceled_at": None, "ended_at": None, "created": start, "start_date": start,
            "current_period_start": start, "current_period_end": end,
            "items": {"object": "list", "data": [
                {"id": rid("si_", 14), "object": "subscription_item",
                 "price": {"id": price, "object": "price"}, "quantity": 1,
                 "current_period_start": start, "current_period_end": end}]},
            "latest_invoice": None, "livemode": False, "metadata": metadata or {}}


def sub_price(sub):
    return sub["items"]["data"][0]["price"]["id"]


def set_period(sub, start, end):
    sub["current_period_start"], sub["current_period_end"] = start, end
    for it in sub["items"]["data"]:
        it["current_period_start"], it["current_period_end"] = start, end


def make_invoice(sub, reason, created, paid=True):
    price = sub_price(sub)
    amount = amount_of(price)
    start, end = sub["current_period_start"], sub["current_period_end"]
    return {"id": rid("in_"), "object": "invoice", "customer": sub["customer"],
            "subscription": sub["id"], "status": "paid" if paid else "open",
            "paid": paid, "billing_reason": reason,
            "amount_paid": amount if paid else 0, "amount_due": amount,
            "amount_remaining": 0 if paid else amount, "currency": "inr",
            "attempt_count": 1, "attempted": True,
            "lines": {"object": "list", "data": [
                {"id": rid("il_"), "object": "line_item",
                 "price": {"id": price, "object": "price"}, "quantity": 1,
                 "period": {"start": start, "end": end}, "amount": amount,
                 "currency": "inr", "subscription": sub["id"]}]},
            "period_start": start, "period_end": end, "created": created,
            "livemode": False}


def make_event(etype, obj, created, previous=None):
    ev = {"id": rid("evt_"), "object": "event", "api_version": API_VERSION,
          "created": int(created), "livemode": False, "pending_webhooks": 1,
          "request": {"id": None, "idempotency_key": None}, "type": etype,
          "data": {"object": copy.deepcopy(public(obj))}}
    if previous is not None:
        ev["data"]["previous_attributes"] = copy.deepcopy(previous)
    return ev


def stamp(key):
    """A created time for an event of subscription key: now, strictly after
    the last one. Call with LOCK held."""
    t = max(int(time.time()), STATE["last_created"].get(key, 0) + 1)
    STATE["last_created"][key] = t
    return t


# ---------------------------------------------------------------- delivery

def signature_header(body, mode, t=None):
    t = int(time.time()) if t is None else t
    if mode == "stale":
        t -= 400
    secret = ARGS.secret.encode()
    good = hmac.new(secret, b"%d." % t + body, hashlib.sha256).hexdigest()
    wrong = hmac.new(secret + b"-wrong", b"%d." % t + body, hashlib.sha256).hexdigest()
    if mode == "none":
        return None
    if mode == "bad":
        return "t=%d,v1=%s" % (t, wrong)
    if mode == "multi":
        return "t=%d,v1=%s,v1=%s" % (t, wrong, good)
    return "t=%d,v1=%s" % (t, good)


def post_webhook(event, mode="good", source="send", attempt=1, barrier=None):
    """POSTs one event to the webhook, signed now; records and returns the
    delivery record (status 0 when nothing was answered)."""
    body = json.dumps(event, separators=(",", ":")).encode()
    url = urllib.parse.urlsplit(ARGS.webhook)
    path = (url.path or "/") + ("?" + url.query if url.query else "")
    rec = {"event_id": event.get("id"), "type": event.get("type"), "signature": mode,
           "source": source, "attempt": attempt, "status": 0, "body": None}
    if barrier is not None:
        try:
            barrier.wait(10)
        except threading.BrokenBarrierError:
            pass
    headers = {"Content-Type": "application/json; charset=utf-8",
               "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
               "Accept": "*/*; q=0.5, application/xml", "Cache-Control": "no-cache"}
    sig = signature_header(body, mode)
    if sig is not None:
        headers["Stripe-Signature"] = sig
    rec["t"] = time.time()
    conn = None
    try:
        conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port or 80,
                                          timeout=30)
        conn.request("POST", path, body=body, headers=headers)
        resp = conn.getresponse()
        rec["status"] = resp.status
        rec["body"] = resp.read(4096).decode("utf-8", "replace")
    except Exception as e:      # no answer: refused, reset, timeout
        rec["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        if conn is not None:
            conn.close()
    rec["latency_ms"] = round((time.time() - rec["t"]) * 1000, 3)
    with LOCK:
        STATE["seq"] += 1
        rec["seq"] = STATE["seq"]
        STATE["deliveries"].append(rec)
    return rec


def send_copies(event, mode, times, concurrent, source):
    """times copies, one after another or released together from threads."""
    if not concurrent or times <= 1:
        return [post_webhook(event, mode, source) for _ in range(times)]
    out = [None] * times
    barrier = threading.Barrier(times)

    def one(i):
        out[i] = post_webhook(event, mode, source, barrier=barrier)
    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(times)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return out


def deliver_retrying(event, source="scenario", barrier=None):
    """Delivers with good signatures, retrying non-2xx and no answer up to 5
    times; returns the list of delivery records."""
    recs = []
    for attempt in range(1, 7):
        rec = post_webhook(event, "good", source, attempt, barrier if attempt == 1 else None)
        recs.append(rec)
        if 200 <= rec["status"] < 300:
            break
        if attempt < 6:
            time.sleep(0.05 * 2 ** (attempt - 1))
    return recs


def emit(events, source):
    """Delivers events in order, synchronously (as the pages do)."""
    for ev in events:
        deliver_retrying(ev, source)


# ---------------------------------------------------------------- API

def form_params(raw, query):
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    if raw:
        pairs += urllib.parse.parse_qsl(raw.decode("utf-8", "replace"),
                                        keep_blank_values=True)
    return dict(pairs)


def nested(params, name):
    """metadata[k]=v params as {k: v}."""
    pre = name + "["
    return {k[len(pre):-1]: v for k, v in params.items()
            if k.startswith(pre) and k.endswith("]") and "[" not in k[len(pre):-1]}


def auth_ok(headers):
    h = headers.get("Authorization", "") or ""
    key = None
    if h.startswith("Bearer "):
        key = h[7:].strip()
    elif h.startswith("Basic "):
        try:
            key = base64.b64decode(h[6:].strip()).decode().split(":", 1)[0]
        except Exception:
            key = None
    if not key:
        return False
    if ARGS.api_key:
        return hmac.compare_digest(key, ARGS.api_key)
    return key.startswith("sk_")


def base_url():
    return "http://127.0.0.1:%d" % ARGS.port


def create_checkout(p):
    if "mode" not in p:
        return err(400, "Missing required param: mode.", code="parameter_missing", param="mode")
    if p["mode"] != "subscription":
        return err(400, "Invalid mode: this fake only knows mode=subscription.",
                   code="parameter_invalid", param="mode")
    price = p.get("line_items[0][price]")
    if price is None:
        return err(400, "Missing required param: line_items[0][price].",
                   code="parameter_missing", param="line_items[0][price]")
    if not price.startswith("price_"):
        return err(400, "No such price: '%s'" % price, code="resource_missing",
                   param="line_items[0][price]")
    q = p.get("line_items[0][quantity]")
    if q is None:
        return err(400, "Missing required param: line_items[0][quantity].",
                   code="parameter_missing", param="line_items[0][quantity]")
    if not q.isdigit() or int(q) < 1:
        return err(400, "Invalid integer: %s" % q, code="parameter_invalid_integer",
                   param="line_items[0][quantity]")
    for name in ("success_url", "cancel_url"):
        if not p.get(name):
            return err(400, "Missing required param: %s." % name,
                       code="parameter_missing", param=name)
        if not p[name].startswith(("http://", "https://")):
            return err(400, "Not a valid URL", code="url_invalid", param=name)
    cust = p.get("customer") or None
    with LOCK:
        if cust is not None and cust not in STATE["customers"]:
            return err(400, "No such customer: '%s'" % cust, code="resource_missing",
                       param="customer")
        now = int(time.time())
        sid = rid("cs_test_", 58)
        s = {"id": sid, "object": "checkout.session", "mode": "subscription",
             "status": "open", "payment_status": "unpaid",
             "url": base_url() + "/checkout/" + sid,
             "client_reference_id": p.get("client_reference_id") or None,
             "metadata": nested(p, "metadata"), "customer": None,
             "customer_email": p.get("customer_email") or None,
             "subscription": None, "success_url": p["success_url"],
             "cancel_url": p["cancel_url"], "amount_total": None, "currency": None,
             "created": now, "expires_at": now + DAY, "livemode": False,
             "_price": price, "_quantity": int(q), "_customer": cust}
        STATE["sessions"][sid] = s
        return 200, public(s)


def create_portal(p):
    cust = p.get("customer")
    if not cust:
        return err(400, "Missing required param: customer.", code="parameter_missing",
                   param="customer")
    with LOCK:
        if cust not in STATE["customers"]:
            return err(400, "No such customer: '%s'" % cust, code="resource_missing",
                       param="customer")
        bid = rid("bps_")
        b = {"id": bid, "object": "billing_portal.session", "customer": cust,
             "return_url": p.get("return_url") or None, "url": base_url() + "/billing/" + bid,
             "created": int(time.time()), "livemode": False}
        STATE["portals"][bid] = b
        return 200, copy.deepcopy(b)


def create_customer(p):
    with LOCK:
        c = make_customer(p.get("email") or None, nested(p, "metadata"))
        STATE["customers"][c["id"]] = c
        return 200, copy.deepcopy(c)


GETTABLE = {"checkout/sessions": ("sessions", "checkout.session"),
            "subscriptions": ("subs", "subscription"),
            "customers": ("customers", "customer"),
            "invoices": ("invoices", "invoice")}


def api(method, path, params):
    """(status, JSON) of an API call that passed auth and fault injection."""
    if method == "POST" and path == "/v1/checkout/sessions":
        return create_checkout(params)
    if method == "POST" and path == "/v1/billing_portal/sessions":
        return create_portal(params)
    if method == "POST" and path == "/v1/customers":
        return create_customer(params)
    if method == "GET":
        kind, _, oid = path[len("/v1/"):].rpartition("/")
        if kind in GETTABLE and oid:
            table, name = GETTABLE[kind]
            with LOCK:
                obj = STATE[table].get(oid)
                if obj is None:
                    return err(404, "No such %s: '%s'" % (name, oid),
                               code="resource_missing", param="id")
                return 200, public(obj)
    return err(404, "Unrecognized request URL (%s: %s)." % (method, path))


def api_request(method, path, headers, params):
    """Records, authenticates, injects faults, delays, answers idempotently."""
    idem = headers.get("Idempotency-Key")
    ok = auth_ok(headers)
    with LOCK:
        STATE["seq"] += 1
        rec = {"seq": STATE["seq"], "t": time.time(), "method": method, "path": path,
               "params": params, "idempotency_key": idem, "auth_ok": ok, "dup": False}
        STATE["requests"].append(rec)
        cfg = STATE["config"]
        latency = float(cfg.get("latency_ms") or 0)
        fail = None
        if ok and cfg.get("fail_times"):
            if cfg["fail_times"] > 0:
                cfg["fail_times"] -= 1
            fail = int(cfg.get("fail_status") or 500)
    if latency:
        time.sleep(latency / 1000.0)
    extra = {}
    if not ok:
        status, out = err(401, "Invalid API Key provided: %s" % (
            (headers.get("Authorization") or "(none)")[:16] + "..."))
    elif fail is not None:
        if fail == 429:
            status, out = err(429, "Too many requests hit the API too quickly.",
                              code="rate_limit")
        elif fail >= 500:
            status, out = err(fail, "An error occurred with our connection to Stripe.",
                              etype="api_error")
        else:
            status, out = err(fail, "Injected failure.")
    elif idem and method == "POST":
        with LOCK:
            key = (method, path, idem)
            prev = STATE["idem"].get(key)
            others = [k for k in STATE["idem"] if k[2] == idem and k != key]
            if prev is None and others:
                prev = STATE["idem"][others[0]]
                prev = (None, prev[1], prev[2])   # another endpoint: never the same
            if prev is not None:
                if prev[0] == params:
                    status, out = prev[1], copy.deepcopy(prev[2])
                    rec["dup"] = True
                    extra["Idempotent-Replayed"] = "true"
                else:
                    status, out = err(400, "Keys for idempotent requests can only be used "
                                      "with the same parameters they were first used "
                                      "with. Try using a key other than '%s' if you "
                                      "meant to execute a different request." % idem,
                                      etype="idempotency_error")
            else:
                status, out = api(method, path, params)
                if status == 200:   # Stripe keeps no result for failed validation
                    STATE["idem"][key] = (params, status, copy.deepcopy(out))
    else:
        status, out = api(method, path, params)
    with LOCK:
        rec["status"] = status
    if idem:
        extra["Idempotency-Key"] = idem
    return status, out, extra


# ---------------------------------------------------------------- pages

def page(title, body):
    return ("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>%s</title></head>"
            "<body>\n<h1>%s</h1>\n%s\n</body></html>\n"
            % (html.escape(title), html.escape(title), body)).encode()


def checkout_page(sid):
    with LOCK:
        s = STATE["sessions"].get(sid)
        if s is None:
            return 404, page("Not found", "<p>No such checkout session.</p>")
        s = copy.deepcopy(s)
    price, amount = s["_price"], amount_of(s["_price"])
    e = html.escape
    body = ("<p>Subscribe to <span id=\"price\">%s</span> &times; %d</p>\n"
            "<p id=\"amount\">%d.%02d INR every 30 days</p>\n<p id=\"status\">%s</p>\n"
            "<form method=\"post\" action=\"/checkout/%s/pay\">"
            "<button id=\"pay\" type=\"submit\">Pay</button></form>\n"
            "<p><a id=\"cancel\" href=\"%s\">Cancel</a></p>"
            % (e(price), s["_quantity"], amount // 100, amount % 100, e(s["status"]),
               e(sid), e(s["cancel_url"])))
    return 200, page("Pay", body)


def pay(sid):
    """Completes a checkout session; returns (status, html, location)."""
    with LOCK:
        s = STATE["sessions"].get(sid)
        if s is None:
            return 404, page("Not found", "<p>No such checkout session.</p>"), None
        loc = s["success_url"].replace("{CHECKOUT_SESSION_ID}", sid)
        if s["status"] != "open":
            return 303, b"", loc
        now = int(time.time())
        cust = STATE["customers"].get(s["_customer"] or "")
        if cust is None:
            cust = make_customer(s["customer_email"], now=now)
            STATE["customers"][cust["id"]] = cust
        sub = make_sub(cust["id"], s["_price"], now, copy.deepcopy(s["metadata"]))
        inv = make_invoice(sub, "subscription_create", now)
        sub["latest_invoice"] = inv["id"]
        STATE["subs"][sub["id"]] = sub
        STATE["invoices"][inv["id"]] = inv
        s.update(status="complete", payment_status="paid", customer=cust["id"],
                 subscription=sub["id"], amount_total=inv["amount_paid"], currency="inr",
                 url=None)
        STATE["last_created"][sub["id"]] = now     # the three at now-2, now-1, now
        evs = [make_event("checkout.session.completed", s, now - 2),
               make_event("customer.subscription.created", sub, now - 1),
               make_event("invoice.paid", inv, now)]
        STATE["events"].extend(evs)
    emit(evs, "pay")
    return 303, b"", loc


def portal_page(bid):
    with LOCK:
        b = STATE["portals"].get(bid)
        if b is None:
            return 404, page("Not found", "<p>No such billing portal session.</p>")
        subs = [x for x in STATE["subs"].values()
                if x["customer"] == b["customer"] and x["status"] != "canceled"]
        lines = "".join("<li>%s: %s, %s</li>" % (html.escape(x["id"]), html.escape(sub_price(x)),
                                                  html.escape(x["status"])) for x in subs)
    body = ("<ul id=\"subscriptions\">%s</ul>\n"
            "<form method=\"post\" action=\"/billing/%s/cancel\">"
            "<button id=\"cancel\" type=\"submit\">Cancel subscription</button></form>\n"
            % (lines or "<li>No active subscription</li>", html.escape(bid)))
    if b["return_url"]:
        body += "<p><a id=\"return\" href=\"%s\">Return</a></p>" % html.escape(b["return_url"])
    return 200, page("Billing", body)


def portal_cancel(bid):
    with LOCK:
        b = STATE["portals"].get(bid)
        if b is None:
            return 404, page("Not found", "<p>No such billing portal session.</p>"), None
        evs = []
        for sub in STATE["subs"].values():
            if sub["customer"] != b["customer"] or sub["status"] in (
                    "canceled", "incomplete_expired"):
                continue
            t = stamp(sub["id"])
            sub.update(status="canceled", canceled_at=t, ended_at=t,
                       cancel_at_period_end=False)
            evs.append(make_event("customer.subscription.deleted", sub, t))
        STATE["events"].extend(evs)
    emit(evs, "portal")
    if b["return_url"]:
        return 303, b"", b["return_url"]
    return 200, page("Billing", "<p id=\"done\">Subscription canceled.</p>"), None


# ---------------------------------------------------------------- scenario

class Sim:
    """One user's timeline on a logical clock (relative seconds)."""

    def __init__(self, ref, prices, rng):
        self.ref, self.prices, self.rng = ref, prices, rng
        self.clock = 0
        self.events = []        # (event, sub id)
        self.objects = {}       # id -> final object (subs, invoices, customers, sessions)
        self.customer = None
        self.live = None        # the user's subscription not yet ended

    def tick(self, at=None):
        self.clock = max(self.clock + 1, self.clock + 1 if at is None else int(at))
        return self.clock

    def ev(self, etype, obj, sub, at=None, previous=None):
        self.events.append((make_event(etype, obj, self.tick(at), previous), sub["id"]))

    def sub_ev(self, etype, sub, at=None, previous=None):
        self.ev(etype, sub, sub, at, previous)

    def end(self, sub, at, reason=None):
        t = self.tick(at)
        sub.update(status="canceled", ended_at=t, cancel_at_period_end=False)
        if sub["canceled_at"] is None:
            sub["canceled_at"] = t
        self.clock = t - 1
        self.sub_ev("customer.subscription.deleted", sub, t)
        self.live = None

    def lifecycle(self, session):
        rng = self.rng
        if self.live is not None:       # a later pass: end the old one first
            self.end(self.live, self.clock + DAY)
        price = session["_price"] if session else rng.choice(self.prices)
        t0 = self.clock + DAY
        if session is None:
            sid = rid("cs_test_", 58)
            session = {"id": sid, "object": "checkout.session", "mode": "subscription",
                       "status": "open", "payment_status": "unpaid",
                       "url": base_url() + "/checkout/" + sid, "client_reference_id": self.ref,
                       "metadata": {}, "customer": None, "customer_email": None,
                       "subscription": None, "success_url": "http://127.0.0.1/ok",
                       "cancel_url": "http://127.0.0.1/cancel", "amount_total": None,
                       "currency": None, "created": t0, "expires_at": t0 + DAY,
                       "livemode": False, "_price": price, "_quantity": 1,
                       "_customer": None}
        else:
            session = copy.deepcopy(session)
            if not session.get("client_reference_id"):
                session["client_reference_id"] = self.ref
        if session.get("_customer"):
            self.customer = session["_customer"]
        if self.customer is None:
            c = make_customer(now=t0)
            self.customer = c["id"]
            self.objects[c["id"]] = ("customers", c)
        sub = make_sub(self.customer, price, t0 + 1, copy.deepcopy(session["metadata"]))
        inv = make_invoice(sub, "subscription_create", t0 + 1)
        sub["latest_invoice"] = inv["id"]
        session.update(status="complete", payment_status="paid", customer=self.customer,
                       subscription=sub["id"], amount_total=inv["amount_paid"],
                       currency="inr", url=None)
        self.live = sub
        self.objects[session["id"]] = ("sessions", session)
        self.objects[sub["id"]] = ("subs", sub)
        self.objects[inv["id"]] = ("invoices", inv)
        self.clock = t0
        self.ev("checkout.session.completed", session, sub)
        self.sub_ev("customer.subscription.created", sub)
        self.ev("invoice.paid", inv, sub)
        self.sub_ev("customer.subscription.updated", sub,
                    previous={"latest_invoice": None, "status": "incomplete"})
        for _ in range(rng.randint(0, 6)):
            if not self.step(sub):
                break

    def renew(self, sub, paid):
        old = {"current_period_start": sub["current_period_start"],
               "current_period_end": sub["current_period_end"],
               "latest_invoice": sub["latest_invoice"]}
        pe = sub["current_period_end"]
        set_period(sub, pe, pe + PERIOD)
        inv = make_invoice(sub, "subscription_cycle", self.tick(pe), paid)
        sub["latest_invoice"] = inv["id"]
        self.objects[inv["id"]] = ("invoices", inv)
        self.ev("invoice.paid" if paid else "invoice.payment_failed", inv, sub)
        if not paid:
            old["status"] = sub["status"]
            sub["status"] = "past_due"
        self.sub_ev("customer.subscription.updated", sub, previous=old)
        return inv

    def step(self, sub):
        """One more period; False when the subscription ended."""
        rng = self.rng
        ps = sub["current_period_start"]
        r = rng.random()
        if r < 0.15 and len(self.prices) > 1:       # plan change
            old_items = copy.deepcopy(sub["items"])
            cur = sub_price(sub)
            sub["items"]["data"][0]["price"] = {
                "id": rng.choice([p for p in self.prices if p != cur]), "object": "price"}
            self.sub_ev("customer.subscription.updated", sub,
                        ps + 10 * DAY + rng.randint(0, 3600), previous={"items": old_items})
            return True
        if r < 0.25:                                # cancel at period end
            t = self.tick(ps + 15 * DAY + rng.randint(0, 3600))
            self.clock = t - 1
            sub.update(cancel_at_period_end=True, cancel_at=sub["current_period_end"],
                       canceled_at=t)
            self.sub_ev("customer.subscription.updated", sub, t,
                        previous={"cancel_at_period_end": False, "cancel_at": None,
                                  "canceled_at": None})
            self.end(sub, sub["current_period_end"])
            return False
        if r < 0.33:                                # immediate cancel
            self.end(sub, ps + 5 * DAY + rng.randint(0, 3600))
            return False
        if r < 0.55:                                # renewal fails
            inv = self.renew(sub, False)
            if rng.random() < 0.5:                  # paid on retry
                t = self.tick(sub["current_period_start"] + 3 * DAY)
                self.clock = t - 1
                inv.update(status="paid", paid=True, amount_paid=inv["amount_due"],
                           amount_remaining=0, attempt_count=2)
                self.ev("invoice.paid", inv, sub, t)
                sub["status"] = "active"
                self.sub_ev("customer.subscription.updated", sub,
                            previous={"status": "past_due"})
                return True
            at = sub["current_period_start"] + 7 * DAY
            if rng.random() < 0.5:
                self.end(sub, at)
            else:
                sub["status"] = "unpaid"
                self.sub_ev("customer.subscription.updated", sub, at,
                            previous={"status": "past_due"})
                self.live = None
            return False
        self.renew(sub, True)                       # renewal paid
        return True


def shift_times(obj, off):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in TIME_KEYS and isinstance(v, int) and not isinstance(v, bool):
                obj[k] = v + off
            else:
                shift_times(v, off)
    elif isinstance(obj, list):
        for v in obj:
            shift_times(v, off)


def expected_of(events, sub_ref, sub_cust):
    per_sub = {}
    for ev in events:
        o = ev["data"]["object"]
        sid = o["id"] if ev["type"].startswith("customer.subscription.") else o.get("subscription")
        per_sub.setdefault(sid, []).append(ev)
    subs, paid, failed = {}, {}, set()
    for sid, evs in per_sub.items():
        evs.sort(key=lambda e: e["created"])
        last = [e for e in evs if e["type"].startswith("customer.subscription.")][-1]
        o = last["data"]["object"]
        subs[sid] = {"ref": sub_ref[sid], "customer": sub_cust[sid], "status": o["status"],
                     "price": sub_price(o), "current_period_end": o["current_period_end"],
                     "cancel_at_period_end": o["cancel_at_period_end"],
                     "last_event": last["id"], "last_type": last["type"],
                     "last_is_subscription_event": evs[-1] is last}
        for e in evs:
            o = e["data"]["object"]
            if e["type"] == "invoice.paid":
                line = o["lines"]["data"][0]
                paid[o["id"]] = {"subscription": sid, "ref": sub_ref[sid],
                                 "price": line["price"]["id"], "period_end": line["period"]["end"],
                                 "amount_paid": o["amount_paid"]}
            elif e["type"] == "invoice.payment_failed":
                failed.add(o["id"])
    return {"subscriptions": subs, "invoices_paid": paid,
            "invoices_failed_unpaid": sorted(failed - set(paid))}


def scenario(cfg):
    t_start = time.time()
    rng = random.Random(cfg.get("seed", 0))
    prices = list(cfg.get("prices") or ["price_basic", "price_pro"])
    users = list(cfg.get("users") or [{"ref": "user1"}])
    min_events = int(cfg.get("min_events", 1000))
    dup_rate = float(cfg.get("duplicate_rate", 0.2))
    conc = max(1, int(cfg.get("concurrency", 8)))
    with LOCK:
        sessions = []
        for u in users:
            s = None
            if u.get("session"):
                s = STATE["sessions"].get(u["session"])
                if s is None:
                    return err(400, "No such checkout.session: '%s'" % u["session"],
                               code="resource_missing", param="users.session")
                if s["status"] != "open":
                    return err(400, "Checkout session %s is already complete" % s["id"],
                               param="users.session")
                s = copy.deepcopy(s)
            sessions.append(s)
    sims = [Sim(str(u.get("ref")), prices, rng) for u in users]
    count, i = 0, 0
    while i < len(sims) or count < min_events:
        k = i % len(sims)
        before = len(sims[k].events)
        sims[k].lifecycle(sessions[k] if i < len(sims) else None)
        count += len(sims[k].events) - before
        i += 1
    now = int(time.time())
    events, sub_ref, sub_cust = [], {}, {}
    for n, sim in enumerate(sims):
        off = now - 60 - (n % 30) - sim.clock
        for ev, sid in sim.events:
            shift_times(ev, off)
            events.append(ev)
            sub_ref[sid], sub_cust[sid] = sim.ref, sim.customer
        for oid, (table, obj) in sim.objects.items():
            shift_times(obj, off)
    events.sort(key=lambda e: e["created"])
    with LOCK:
        for sim in sims:
            for oid, (table, obj) in sim.objects.items():
                if table == "sessions" and oid in STATE["sessions"]:
                    STATE["sessions"][oid].update({k: v for k, v in obj.items()
                                                   if k != "created" and k != "expires_at"})
                else:
                    STATE[table][oid] = obj
            for ev, sid in sim.events:
                STATE["last_created"][sid] = max(STATE["last_created"].get(sid, 0),
                                                 ev["created"])
        STATE["events"].extend(events)
    expected = expected_of(events, sub_ref, sub_cust)
    expected["users"] = {}
    for sid, ref in sub_ref.items():
        expected["users"].setdefault(ref, []).append(sid)

    order = list(events)
    if cfg.get("shuffle", True):
        rng.shuffle(order)
    n_dup = int(round(len(order) * dup_rate))
    dups = rng.sample(range(len(order)), min(n_dup, len(order)))
    together = set(dups[:len(dups) // 2])
    late = [order[j] for j in dups[len(dups) // 2:]]
    results, rlock = [], threading.Lock()

    def job(ev, pair):
        if pair:
            barrier = threading.Barrier(2)
            out = []
            th = threading.Thread(target=lambda: out.append(
                deliver_retrying(ev, barrier=barrier)), daemon=True)
            th.start()
            recs = deliver_retrying(ev, barrier=barrier)
            th.join()
            recs = recs + (out[0] if out else [])
        else:
            recs = deliver_retrying(ev)
        with rlock:
            results.append((ev, recs))

    with ThreadPoolExecutor(conc) as pool:
        for f in [pool.submit(job, ev, j in together) for j, ev in enumerate(order)]:
            f.result()
        for f in [pool.submit(job, ev, False) for ev in late]:
            f.result()
    answers, failed, deliveries = {}, [], 0
    for ev, recs in results:
        deliveries += len(recs)
        for r in recs:
            key = str(r["status"]) if r["status"] else "error"
            answers[key] = answers.get(key, 0) + 1
        # a pair is two chains; each chain ends with its last attempt
        chains, cur = [], []
        for r in recs:
            if r["attempt"] == 1 and cur:
                chains.append(cur)
                cur = []
            cur.append(r)
        chains.append(cur)
        for c in chains:
            if not 200 <= c[-1]["status"] < 300:
                failed.append({"event_id": ev["id"], "type": ev["type"],
                               "status": c[-1]["status"], "error": c[-1].get("error"),
                               "attempts": len(c)})
    return 200, {"events": len(events), "deliveries": deliveries, "answers": answers,
                 "failed_deliveries": failed, "seconds": round(time.time() - t_start, 3),
                 "expected": expected}


# ---------------------------------------------------------------- control

def find_event(eid):
    with LOCK:
        for ev in STATE["events"]:
            if ev["id"] == eid:
                return ev
    return None


def answers_of(recs):
    return {"answers": [{"status": r["status"], "body": r["body"], "error": r.get("error")}
                        for r in recs]}


def control(method, path, body):
    global STATE
    if path == "/_stripe/reset" and method == "POST":
        with LOCK:
            STATE = fresh_state()
        return 200, {"ok": True}
    if path == "/_stripe/config" and method == "POST":
        with LOCK:
            cfg = STATE["config"]
            for k in ("latency_ms", "fail_status", "fail_times"):
                if k in body:
                    cfg[k] = int(body[k] or 0)
            if "amounts" in body:
                cfg["amounts"].update({k: int(v) for k, v in (body["amounts"] or {}).items()})
            return 200, copy.deepcopy(cfg)
    if method == "GET" and path in ("/_stripe/requests", "/_stripe/deliveries",
                                    "/_stripe/events"):
        with LOCK:
            return 200, copy.deepcopy(STATE[path.rsplit("/", 1)[1]])
    if path in ("/_stripe/send", "/_stripe/replay") and method == "POST":
        ev = body.get("event")
        if ev is None:
            ev = find_event(body.get("event_id"))
            if ev is None:
                return 404, {"error": "no such event: %r" % body.get("event_id")}
        mode = body.get("signature", "good")
        if mode not in ("good", "bad", "stale", "none", "multi"):
            return 400, {"error": "signature is good|bad|stale|none|multi"}
        times = max(1, int(body.get("times", 1)))
        source = path.rsplit("/", 1)[1]
        return 200, answers_of(send_copies(ev, mode, times, bool(body.get("concurrent")),
                                           source))
    if path == "/_stripe/scenario" and method == "POST":
        return scenario(body)
    return 404, {"error": "no such control: %s %s" % (method, path)}


# ---------------------------------------------------------------- HTTP

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "stripe-fake/1.0"

    def log_message(self, *a):
        pass

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            out = b""
            while True:
                n = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(n)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send(self, status, body, ctype="application/json", extra=None):
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        try:
            raw = self.read_body()
            url = urllib.parse.urlsplit(self.path)
            path = url.path
            m = self.command
            if path.startswith("/_stripe/"):
                try:
                    body = json.loads(raw) if raw.strip() else {}
                except ValueError as e:
                    return self.send(400, {"error": "bad JSON: %s" % e})
                if not isinstance(body, dict):
                    return self.send(400, {"error": "a JSON object, please"})
                status, out = control(m, path, body)
                return self.send(status, out)
            if path.startswith("/v1/"):
                params = form_params(raw, url.query)
                status, out, extra = api_request(m, path, self.headers, params)
                extra["Request-Id"] = rid("req_", 14)
                extra["Stripe-Version"] = API_VERSION
                return self.send(status, out, extra=extra)
            parts = path.strip("/").split("/")
            status, html_body, loc = 404, page("Not found", "<p>Not found.</p>"), None
            if len(parts) == 2 and parts[0] == "checkout" and m == "GET":
                status, html_body = checkout_page(parts[1])
            elif len(parts) == 3 and parts[0] == "checkout" and parts[2] == "pay" and m == "POST":
                status, html_body, loc = pay(parts[1])
            elif len(parts) == 2 and parts[0] == "billing" and m == "GET":
                status, html_body = portal_page(parts[1])
            elif len(parts) == 3 and parts[0] == "billing" and parts[2] == "cancel" \
                    and m == "POST":
                status, html_body, loc = portal_cancel(parts[1])
            return self.send(status, html_body, "text/html; charset=utf-8",
                             {"Location": loc} if loc else None)
        except Exception as e:
            traceback.print_exc()
            try:
                self.send(500, {"error": {"type": "api_error",
                                          "message": "fake failed: %s: %s" % (
                                              type(e).__name__, e)}})
            except Exception:
                self.close_connection = True

    do_GET = do_POST = do_DELETE = do_PUT = do_HEAD = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True


def main():
    global ARGS, STATE
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--ready")
    ap.add_argument("--webhook", required=True)
    ap.add_argument("--secret", required=True)
    ap.add_argument("--api-key")
    ARGS = ap.parse_args()
    STATE = fresh_state()
    srv = Server(("127.0.0.1", ARGS.port), Handler)
    ARGS.port = srv.server_address[1]
    if ARGS.ready:
        with open(ARGS.ready + ".tmp", "w") as f:
            json.dump({"http": ARGS.port}, f)
        os.rename(ARGS.ready + ".tmp", ARGS.ready)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
