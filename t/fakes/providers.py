#!/usr/bin/python3
"""providers.py — one local fake of the delivery providers, for tests and
benchmarks: the Telegram Bot API, Resend, Netgsm, Twilio and OneSignal on
one HTTP port (their real paths and bodies), and a real SMTP server
(aiosmtpd) on another, all on one asyncio loop.

    python3 t/fakes/providers.py [--port P] [--smtp-port S] [--ready FILE]

Ports 0 pick free ones; FILE receives {"http": P, "smtp": S} once both
listen. Every request is recorded with its arrival time (time.time()).

Control (JSON):
    POST /_fake/reset              forget requests, rules, seen keys, config
    POST /_fake/config             {"latency_ms": N} for every answer;
                                   {"rates": {provider: per second, ...}}
                                   enforces each provider's documented rate
                                   (RATES; a 429 above it, counted in stats);
                                   {"invalid": [recipient, ...]} OneSignal
                                   subscriptions / Resend addresses refused
                                   one by one (errors.invalid_player_ids; a
                                   batch's errors[] with the index)
    POST /_fake/rules              [rule, ...] appended; a rule is
        {"provider": "telegram"|"resend"|"netgsm"|"twilio"|"onesignal"|"smtp",
         "to": recipient (optional; a bulk request carrying it),
         "times": N (default 1, -1 forever),
         "status": HTTP status (or for smtp "451 4.3.0 try later"),
         "body": JSON answer, "headers": {name: value},
         "latency_ms": N, "hang": true (never answer),
         "reset": true (close the connection, no answer),
         "until": unix time (the rule holds until then: an outage)}
        the first matching rule with times left answers instead of success
    POST /_fake/rules/clear        forget the rules, keep the record
    GET  /_fake/requests[?provider=P]  the recorded requests, oldest first; a
                                   request answered with success has "ok": true,
                                   "recipients" (every one it carried: a Resend
                                   batch, a OneSignal notification, a Netgsm
                                   messages array), "answered_t" when answered
    GET  /_fake/stats              {"provider": count, ..., "throttled":
                                   {provider: 429s}, "recipients": {provider:
                                   count}, "smtp_connections": N,
                                   "api_connections": N (HTTP connections that
                                   carried a request outside /_fake/)}
    GET  /_fake/wait?provider=P&recipients=N&timeout=S
                                   answers once P's successful requests have
                                   carried N recipients (or after S seconds,
                                   default 60): {"recipients": count}; one
                                   request where a benchmark would poll

The bulk forms, as the real APIs shape them: Resend POST /emails/batch (an
array of at most 100 emails; 422 above), OneSignal include_subscription_ids
or include_aliases.external_id (at most 20,000; 400 above), Netgsm's
messages array. Telegram's rate is per bot (30/s, or 1,000/s for a message
with allow_paid_broadcast) and per chat (1/s).

A repeated Idempotency-Key (Resend) or idempotency_key (OneSignal) gets
the first answer again and is recorded with "dup": true, as the real
services do. Python's standard library and Debian's python3-aiosmtpd only.
"""
import argparse
import asyncio
import collections
import json
import re
import time
import urllib.parse
import uuid

STATE = {"requests": [], "rules": [], "seen": {}, "latency_ms": 0, "seq": 0, "rates": {},
         "sent": {}, "throttled": {}, "invalid": set(), "smtp_connections": 0,
         "api_connections": 0,
         "reached": collections.Counter()}

# The documented rates (a second) that {"rates": "documented"} enforces;
# Netgsm publishes none (code 80 says when it is exceeded): 10 is ours.
RATES = {"telegram": 30, "telegram_paid": 1000, "telegram_chat": 1, "resend": 2,
         "onesignal": 150, "netgsm": 10, "twilio": 100}
BATCH_MAX = {"resend": 100, "onesignal": 20000}

REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized",
           403: "Forbidden", 404: "Not Found", 409: "Conflict", 422: "Unprocessable Entity",
           429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
           503: "Service Unavailable", 504: "Gateway Timeout"}

TG_PATH = re.compile(r"^/bot([^/]+)/(sendMessage|setWebhook)$")
TWILIO_PATH = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages\.json$")


def take_rule(provider, to, rcpts=None):
    """The first rule for provider (and to, or one of a bulk request's
    recipients) with uses left, used once."""
    for r in STATE["rules"]:
        if r.get("provider") != provider or r.get("times", 1) == 0:
            continue
        if r.get("until") is not None and time.time() >= r["until"]:
            continue
        if r.get("to") is not None and str(r["to"]) not in [str(x) for x in rcpts or [to]]:
            continue
        if r.get("times", 1) > 0:
            r["times"] = r.get("times", 1) - 1
        return r
    return None


def reached(rec):
    """A request answered with success: its recipients counted (wait())."""
    rec["ok"] = True
    STATE["reached"][rec["provider"]] += len(rec["recipients"])


async def wait(query):
    """GET /_fake/wait: sleeps (10 ms steps, no scan of the record) until the
    provider's successful requests carried the recipients asked for."""
    p = query.get("provider", [""])[0]
    want = int(query.get("recipients", ["1"])[0])
    until = time.time() + float(query.get("timeout", ["60"])[0])
    while STATE["reached"][p] < want and time.time() < until:
        await asyncio.sleep(0.01)
    return 200, {}, json.dumps({"recipients": STATE["reached"][p]}).encode()


def record(provider, path, headers, body, to, idem=None, dup=False, recipients=None):
    """Appends a request to the record; returns it."""
    STATE["seq"] += 1
    rec = {"seq": STATE["seq"], "t": time.time(), "provider": provider, "path": path,
           "to": to, "recipients": recipients if recipients is not None else [to],
           "body": body, "idempotency_key": idem, "dup": dup,
           "user_agent": headers.get("user-agent"),
           "authorization": headers.get("authorization"),
           "content_type": headers.get("content-type")}
    STATE["requests"].append(rec)
    return rec


def success(provider, body, to, path):
    """The provider's success answer: (status, JSON)."""
    n = STATE["seq"]
    if provider == "telegram":
        if path.endswith("setWebhook"):
            return 200, {"ok": True, "result": True, "description": "Webhook was set"}
        return 200, {"ok": True, "result": {"message_id": n, "chat": {"id": to},
                                             "date": int(time.time()),
                                             "text": body.get("text", "")}}
    if provider == "resend" and path == "/emails/batch":
        bad = [i for i, e in enumerate(body) if first(e.get("to")) in STATE["invalid"]]
        out = {"data": [{"id": str(uuid.uuid4())} for i in range(len(body)) if i not in bad]}
        if bad:
            out["errors"] = [{"index": i, "message": "Invalid `to` field."} for i in bad]
        return 200, out
    if provider == "resend":
        return 200, {"id": str(uuid.uuid4())}
    if provider == "netgsm":
        return 200, {"code": "00", "description": "queued", "jobid": "%d" % (17000000 + n)}
    if provider == "twilio":
        return 201, {"sid": "SM%032x" % n, "status": "queued", "to": to,
                     "body": body.get("Body", "")}
    ids = onesignal_ids(body)
    bad = [i for i in ids if i in STATE["invalid"]]
    if ids and len(bad) == len(ids):
        return 200, {"id": "", "errors": ["All included players are not subscribed"]}
    out = {"id": str(uuid.uuid4()), "external_id": None}
    if bad:
        key = "invalid_player_ids" if body.get("include_subscription_ids") else None
        out["errors"] = {key: bad} if key else {"invalid_aliases": {"external_id": bad}}
    return 200, out


def first(v):
    """A list's first element, or v."""
    return v[0] if isinstance(v, list) and v else v


def onesignal_ids(body):
    """The recipients of a notification: the devices targeted
    (include_subscription_ids), else the users by external id."""
    return body.get("include_subscription_ids") or \
        (body.get("include_aliases") or {}).get("external_id") or []


def route(method, path, headers, raw):
    """(provider, parsed body, recipient) of a provider request, or None."""
    ctype = headers.get("content-type", "")
    try:
        if "json" in ctype:
            body = json.loads(raw or b"{}")
        elif "x-www-form-urlencoded" in ctype:
            body = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode()).items()}
        else:
            body = {"raw": raw.decode("utf-8", "replace")}
    except ValueError:
        body = {"raw": raw.decode("utf-8", "replace")}
    if method != "POST":
        return None
    m = TG_PATH.match(path)
    if m:
        return "telegram", body, body.get("chat_id"), None
    if path == "/emails/batch" and isinstance(body, list):
        rcpts = [first(e.get("to")) for e in body]
        return "resend", body, rcpts[0] if rcpts else None, rcpts
    if path == "/emails":
        return "resend", body, first(body.get("to")), None
    if path == "/sms/rest/v2/send":
        rcpts = [x.get("no") for x in body.get("messages") or [{}]]
        return "netgsm", body, rcpts[0], rcpts
    if TWILIO_PATH.match(path):
        return "twilio", body, body.get("To"), None
    if path == "/notifications":
        rcpts = onesignal_ids(body)
        return "onesignal", body, rcpts[0] if rcpts else None, rcpts
    return None


def over_rate(provider, body, to):
    """A 429 answer (status, headers, JSON) when this request goes above the
    provider's rate in the last second (its sliding window), else None; a
    request let through is counted."""
    rate = STATE["rates"].get(provider)
    if not rate:
        return None
    now = time.time()
    keys = [(provider, rate)]
    if provider == "telegram":
        if body.get("allow_paid_broadcast") is True:
            keys = [("telegram_paid", STATE["rates"].get("telegram_paid", 1000))]
        keys.append((("telegram_chat", str(to)), STATE["rates"].get("telegram_chat", 1)))
    for key, limit in keys:
        q = STATE["sent"].setdefault(key, collections.deque())
        while q and now - q[0] >= 1.0:
            q.popleft()
        if len(q) >= limit:
            STATE["throttled"][provider] = STATE["throttled"].get(provider, 0) + 1
            if provider == "telegram":
                return 429, {}, {"ok": False, "error_code": 429,
                                 "description": "Too Many Requests: retry after 1",
                                 "parameters": {"retry_after": 1}}
            if provider == "netgsm":
                return 200, {}, {"code": "80", "description": "sending limit exceeded"}
            if provider == "resend":
                return 429, {"retry-after": "1"}, {"statusCode": 429,
                                                   "name": "rate_limit_exceeded",
                                                   "message": "Too many requests."}
            return 429, {"Retry-After": "1"}, {"errors": ["API rate limit exceeded."]}
    for key, _ in keys:
        STATE["sent"][key].append(now)
    return None


def too_many(provider, body, rcpts):
    """The provider's refusal of a bulk request above its documented
    maximum, or None."""
    n = BATCH_MAX.get(provider)
    if n is None or rcpts is None or len(rcpts) <= n:
        return None
    if provider == "resend":
        return 422, {"statusCode": 422, "name": "validation_error",
                     "message": "Too many emails: at most 100 a batch."}
    return 400, {"errors": ["include_subscription_ids: at most 20000 ids a request"]}


async def answer(method, target, headers, raw):
    """(status, extra headers, body bytes) for one request."""
    url = urllib.parse.urlsplit(target)
    path = url.path
    if path == "/_fake/wait" and method == "GET":
        return await wait(urllib.parse.parse_qs(url.query))
    if path.startswith("/_fake/"):
        return control(method, path, urllib.parse.parse_qs(url.query), raw)
    r = route(method, path, headers, raw)
    if r is None:
        return 404, {}, b'{"error":"no such fake endpoint"}'
    provider, body, to, rcpts = r
    idem = headers.get("idempotency-key") if provider == "resend" else \
        body.get("idempotency_key") if provider == "onesignal" else None
    key = (provider, idem)
    if idem is not None and key in STATE["seen"]:
        record(provider, path, headers, body, to, idem, True, rcpts)
        while STATE["seen"].get(key) is None and key in STATE["seen"]:
            await asyncio.sleep(0.01)   # the first is still being processed
        status, out = STATE["seen"].get(key) or (409, {"error": "reset"})
        return status, {}, json.dumps(out).encode()
    if idem is not None:
        STATE["seen"][key] = None
    rec = record(provider, path, headers, body, to, idem, recipients=rcpts)
    throttled = over_rate(provider, body, to) or too_many(provider, body, rcpts)
    if throttled is not None:
        status, extra, out = throttled if len(throttled) == 3 else \
            (throttled[0], {}, throttled[1])
        rec["answered"] = status
        rec["throttled"] = True
        STATE["seen"].pop(key, None)
        return status, extra, json.dumps(out).encode()
    rule = take_rule(provider, to, rcpts)
    latency = (rule or {}).get("latency_ms", STATE["latency_ms"])
    if rule and rule.get("hang"):
        await asyncio.sleep(3600)
    if latency:
        await asyncio.sleep(latency / 1000.0)
    if rule and rule.get("reset"):
        STATE["seen"].pop(key, None)
        return None, None, None
    if rule and "status" in rule:
        status, out = int(rule["status"]), rule.get("body", {})
        rec["answered"] = status
        STATE["seen"].pop(key, None)    # a failed request may be made again
        return status, rule.get("headers", {}), json.dumps(out).encode()
    status, out = success(provider, body, to, path)
    rec["answered"] = status
    rec["answered_t"] = time.time()
    reached(rec)
    if idem is not None:
        STATE["seen"][key] = (status, out)
    return status, {}, json.dumps(out).encode()


def control(method, path, query, raw):
    """The control endpoint."""
    if path == "/_fake/reset" and method == "POST":
        STATE.update(requests=[], rules=[], seen={}, latency_ms=0, rates={}, sent={},
                     throttled={}, invalid=set(), smtp_connections=0, api_connections=0,
                     reached=collections.Counter())
        return 200, {}, b'{"ok":true}'
    if path == "/_fake/config" and method == "POST":
        cfg = json.loads(raw or b"{}")
        STATE["latency_ms"] = int(cfg.get("latency_ms", STATE["latency_ms"]))
        if "rates" in cfg:
            STATE["rates"] = dict(RATES) if cfg["rates"] == "documented" else cfg["rates"]
        if "invalid" in cfg:
            STATE["invalid"] = set(cfg["invalid"])
        return 200, {}, b'{"ok":true}'
    if path == "/_fake/rules/clear" and method == "POST":
        STATE["rules"] = []
        return 200, {}, b'{"ok":true}'
    if path == "/_fake/rules" and method == "POST":
        rules = json.loads(raw or b"[]")
        STATE["rules"].extend(rules if isinstance(rules, list) else [rules])
        return 200, {}, b'{"ok":true}'
    if path == "/_fake/requests":
        p = query.get("provider", [None])[0]
        out = [r for r in STATE["requests"] if p is None or r["provider"] == p]
        return 200, {}, json.dumps(out).encode()
    if path == "/_fake/stats":
        stats = {"throttled": STATE["throttled"], "recipients": {},
                 "smtp_connections": STATE["smtp_connections"],
                 "api_connections": STATE["api_connections"]}
        for r in STATE["requests"]:
            stats[r["provider"]] = stats.get(r["provider"], 0) + 1
            if r.get("ok") and not r.get("dup"):
                stats["recipients"][r["provider"]] = \
                    stats["recipients"].get(r["provider"], 0) + len(r["recipients"])
        return 200, {}, json.dumps(stats).encode()
    return 404, {}, b'{"error":"no such control"}'


class HTTP(asyncio.Protocol):
    """HTTP/1.1 with keep-alive and Content-Length bodies, as libcurl sends."""

    def connection_made(self, transport):
        self.t = transport
        self.api = False
        self.buf = b""
        self.busy = False

    def data_received(self, data):
        self.buf += data
        if not self.busy:
            self.next()

    def next(self):
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buf[:end].decode("latin-1").split("\r\n")
        method, target, _ = (head[0].split(" ") + ["", "", ""])[:3]
        if not self.api and not target.startswith("/_fake/"):
            self.api = True     # a connection of the sender's, not of a test's control
            STATE["api_connections"] += 1
        headers = {}
        for line in head[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0") or 0)
        if headers.get("expect", "").lower() == "100-continue" and len(self.buf) < end + 4 + n:
            if not headers.get("_continued"):
                self.t.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                self.buf = self.buf[:end] + b"\r\n_continued: 1" + self.buf[end:]
            return
        if len(self.buf) < end + 4 + n:
            return
        raw = self.buf[end + 4:end + 4 + n]
        self.buf = self.buf[end + 4 + n:]
        self.busy = True
        asyncio.ensure_future(self.respond(method, target, headers, raw))

    async def respond(self, method, target, headers, raw):
        status, extra, body = await answer(method, target, headers, raw)
        if status is None:      # a reset: the connection drops, nothing answered
            self.t.abort()
            return
        lines = ["HTTP/1.1 %d %s" % (status, REASONS.get(status, "Status")),
                 "Content-Type: application/json", "Content-Length: %d" % len(body)]
        lines += ["%s: %s" % kv for kv in extra.items()]
        if not self.t.is_closing():
            self.t.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        self.busy = False
        self.next()


class SMTPHandler:
    """Records each message; rules for "smtp" answer DATA instead."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        rule = None
        for r in STATE["rules"]:
            if r.get("provider") == "smtp" and r.get("at") == "rcpt" and \
                    r.get("times", 1) != 0 and r.get("to") in (None, address):
                rule = r
                break
        if rule:
            if rule.get("times", 1) > 0:
                rule["times"] = rule.get("times", 1) - 1
            return rule["status"]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        import email
        import email.policy
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        text = msg.get_body(("plain",))
        html = msg.get_body(("html",))
        to = envelope.rcpt_tos[0] if envelope.rcpt_tos else None
        rec = record("smtp", "DATA", {"authorization": "yes" if session.authenticated else None},
                     {"from": envelope.mail_from, "rcpt": envelope.rcpt_tos,
                      "subject": str(msg["subject"]), "message_id": msg["message-id"],
                      "content_type": msg.get_content_type(),
                      "list_unsubscribe": msg["list-unsubscribe"],
                      "list_unsubscribe_post": msg["list-unsubscribe-post"],
                      "text": text.get_content() if text else None,
                      "html": html.get_content() if html else None}, to)
        rule = take_rule("smtp", to)
        if rule and rule.get("latency_ms"):
            await asyncio.sleep(rule["latency_ms"] / 1000.0)
        if rule and rule.get("hang"):
            await asyncio.sleep(3600)
        if rule and "status" in rule:
            rec["answered"] = rule["status"]
            return rule["status"]
        rec["answered"] = "250"
        reached(rec)
        return "250 Message accepted for delivery"


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--smtp-port", type=int, default=0)
    ap.add_argument("--ready")
    a = ap.parse_args()
    loop = asyncio.get_running_loop()
    http = await loop.create_server(HTTP, "127.0.0.1", a.port, backlog=1024)
    from aiosmtpd.smtp import SMTP

    class CountingSMTP(SMTP):
        """aiosmtpd's server, counting the connections made to it."""

        def connection_made(self, transport):
            STATE["smtp_connections"] += 1
            super().connection_made(transport)

    smtp = await loop.create_server(
        lambda: CountingSMTP(SMTPHandler(), enable_SMTPUTF8=True, auth_require_tls=False,
                     authenticator=lambda *args: __import__("aiosmtpd.smtp").smtp.AuthResult(
                         success=True)),
        "127.0.0.1", a.smtp_port)
    ports = {"http": http.sockets[0].getsockname()[1], "smtp": smtp.sockets[0].getsockname()[1]}
    if a.ready:
        with open(a.ready + ".tmp", "w") as f:
            json.dump(ports, f)
        import os
        os.rename(a.ready + ".tmp", a.ready)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
