#!/usr/bin/env python3
"""An EventBridge API destination in a box: delivers S3 "Object Created" events to an HTTP
endpoint (POST /process) the way a rule target with an API destination does, and writes what
it could not deliver to a dead-letter file. A library (for the bulk-upload tests) and a CLI.
Python 3.11 standard library only.

What it does, and the AWS documentation each behaviour comes from:

- The body is the whole event, shaped as S3 sends it to EventBridge: envelope `version`,
  `id`, `detail-type` "Object Created", `source` "aws.s3", `account`, `time`, `region`,
  `resources` [bucket ARN]; `detail` with `version`, `bucket.name`, `object.key/size/etag/
  version-id/sequencer`, `request-id`, `requester`, `source-ip-address`, `reason`.
  (Amazon S3 User Guide, "EventBridge event message structure", Object Created example.)
- Request headers as EventBridge sends them: `User-Agent: Amazon/EventBridge/ApiDestinations`,
  `Content-Type: application/json; charset=utf-8`, `Range: bytes=0-1048575`,
  `Accept-Encoding: gzip,deflate`, `Connection: close`, plus the connection's API-key header.
  (EventBridge User Guide, "API destinations": "Headers included in requests".)
- A call that takes longer than 5 s is timed out, and timed-out calls are retried under the
  retry policy. (Same page, the "Important" note on the 5 second client execution timeout.)
- 429 and 5xx are retried; 1xx, 2xx, 3xx and every other 4xx are not. `Retry-After` is read,
  the wait is the more conservative (longer) of the retry policy's and the header's, and a
  negative `Retry-After` stops the retries for that event. (Same page, "API destination
  error codes".) Connection failures count with timeouts ("due to network conditions",
  "How EventBridge retries delivering events").
- Retry policy: up to MaximumRetryAttempts retries (default 185, so at most 186 calls) while
  the event is younger than MaximumEventAgeInSeconds (default 86,400), with "an exponential
  back off and jitter", which the page links to the AWS Architecture Blog's "Exponential
  Backoff And Jitter" ("full jitter": a delay drawn from [0, min(cap, base * 2^n)]).
  (EventBridge User Guide, "Event retry policy and using dead-letter queues"; EventBridge API
  Reference, RetryPolicy.)
- Invocation rate limit per second: calls (retries included) never exceed it, and events
  that arrive faster wait, ageing toward MaximumEventAgeInSeconds. ("API destinations",
  "How invocation rate affects event delivery".)
- Dead letters: an event that failed with a non-retryable status, or ran out of retries or
  age, goes to the dead-letter queue with the attributes the DLQ page lists: error code,
  error message, exhausted retry condition, rule ARN, retry attempts, target ARN. Here that
  is one JSON line per event in a file: {"body": <the event>, "attributes": {...}, "status",
  "key"}. (Same DLQ page, "Considerations for using a dead-letter queue".)

Not documented by AWS, so chosen here (and settable): the backoff's base (1 s) and cap
(300 s); calls spaced evenly at the rate (no burst); events waiting for the rate limit go in
the order they became due; the exact text of the DLQ attribute values (ERROR_CODE here is the
HTTP status, or TIMEOUT / CONNECTION_ERROR; EXHAUSTED_RETRY_CONDITION names the policy field
that ran out, MaximumRetryAttempts or MaximumEventAgeInSeconds).

Library:
    from apidest import ApiDestination, HttpTransport, RetryPolicy, objects_from_dir, s3_object_created
    dest = ApiDestination(HttpTransport(url, headers={"x-api-key": key}), rate_per_s=10)
    report = dest.deliver([s3_object_created("originals", o) for o in objects_from_dir(d)],
                          arrival_rate_per_s=10, dlq_path="dlq.jsonl")
    report["summary"]["retries_sent"], report["events"][0]["attempts"] ...

CLI (one event per object; --dir takes key, size and MD5 ETag from a folder):
    apidest.py http://127.0.0.1:8080/process --bucket originals --dir data/originals \\
        --rate 10 --arrival-rate 10 --api-key "$KEY" --dlq dlq.jsonl --report report.json
"""

import argparse
import email.utils
import hashlib
import heapq
import http.client
import itertools
import json
import math
import os
import queue
import random
import socket
import sys
import threading
import time
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone

# EventBridge's defaults (EventBridge User Guide and API Reference, see above).
TIMEOUT_S = 5.0
MAX_RETRIES = 185
MAX_EVENT_AGE_S = 86400.0
# Chosen here: AWS does not publish EventBridge's backoff parameters.
BASE_DELAY_S = 1.0
MAX_DELAY_S = 300.0
RESPONSE_LIMIT = 1048576  # the Range EventBridge asks for
BODY_KEPT = 4096  # bytes of each response body kept in the report

REQUEST_HEADERS = {
    "User-Agent": "Amazon/EventBridge/ApiDestinations",
    "Content-Type": "application/json; charset=utf-8",
    "Range": "bytes=0-1048575",
    "Accept-Encoding": "gzip,deflate",
    "Connection": "close",
}


# ------------------------------------------------------------------------- events


@dataclass
class S3Object:
    key: str
    size: int = 0
    etag: str | None = None
    version_id: str | None = None
    sequencer: str | None = None


_seq_lock = threading.Lock()
_seq_last = 0


def next_sequencer():
    """A hex sequencer that grows with every call in this process and across runs (it starts
    from the wall clock in microseconds), as S3's grow for the writes of one key."""
    global _seq_last
    with _seq_lock:
        _seq_last = max(_seq_last + 1, time.time_ns() // 1000)
        return "%018X" % _seq_last


def s3_object_created(bucket, obj, *, region="eu-west-1", account="123456789012", when=None,
                      event_id=None, url_encode_key=False, reason="PutObject"):
    """The EventBridge event S3 sends for `obj` written to `bucket`. `url_encode_key` encodes
    the key the way classic notifications do (`+` for a space); whether EventBridge events do
    is not documented, so the service takes both."""
    when = when or datetime.now(timezone.utc)
    key = urllib.parse.quote_plus(obj.key, safe="/") if url_encode_key else obj.key
    o = {"key": key, "size": obj.size}
    if obj.etag is not None:
        o["etag"] = obj.etag
    if obj.version_id is not None:
        o["version-id"] = obj.version_id
    o["sequencer"] = obj.sequencer or next_sequencer()
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": account,
        "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": o,
            "request-id": uuid.uuid4().hex[:16].upper(),
            "requester": account,
            "source-ip-address": "203.0.113.10",
            "reason": reason,
        },
    }


def objects_from_dir(root):
    """Every file under `root` as an S3Object: key = path relative to root with '/', size,
    and the MD5 hex ETag S3 gives a single-part upload. Sorted by key."""
    out = []
    for d, _dirs, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            h = hashlib.md5()
            with open(p, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
            key = os.path.relpath(p, root).replace(os.sep, "/")
            out.append(S3Object(key=key, size=os.path.getsize(p), etag=h.hexdigest()))
    return sorted(out, key=lambda o: o.key)


# ------------------------------------------------------------------------- clock and transport


class RealClock:
    def now(self):
        return time.monotonic()

    def wall(self):
        return datetime.now(timezone.utc)


@dataclass
class Response:
    """What one call got: an HTTP status with headers and body, or an error (no status)."""
    status: int | None
    headers: dict = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    error: str | None = None  # "timeout" or "connection error: ..."
    elapsed_s: float = 0.0


class HttpTransport:
    """POSTs the event to `url` over a new connection, as EventBridge does (Connection: close),
    and gives up after `timeout_s` in all (connect, send, wait and read)."""

    def __init__(self, url, headers=None, timeout_s=TIMEOUT_S):
        u = urllib.parse.urlsplit(url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError(f"not an http(s) URL: {url}")
        self.scheme, self.host, self.port = u.scheme, u.hostname, u.port
        self.path = (u.path or "/") + (f"?{u.query}" if u.query else "")
        self.headers = dict(REQUEST_HEADERS, **(headers or {}))
        self.timeout_s = timeout_s

    def send(self, body: bytes) -> Response:
        t0 = time.monotonic()
        cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        conn = cls(self.host, self.port, timeout=self.timeout_s)
        expired = threading.Event()

        def expire():
            expired.set()
            sock = conn.sock
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        timer = threading.Timer(self.timeout_s, expire)
        timer.start()
        try:
            conn.request("POST", self.path, body=body, headers=self.headers)
            resp = conn.getresponse()
            data = resp.read(RESPONSE_LIMIT)
            elapsed = time.monotonic() - t0
            if expired.is_set() or elapsed >= self.timeout_s:
                return Response(None, error="timeout", elapsed_s=self.timeout_s)
            return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data,
                            elapsed_s=elapsed)
        except (OSError, http.client.HTTPException) as e:
            elapsed = time.monotonic() - t0
            if expired.is_set() or isinstance(e, (socket.timeout, TimeoutError)) or elapsed >= self.timeout_s:
                return Response(None, error="timeout", elapsed_s=min(elapsed, self.timeout_s))
            return Response(None, error=f"connection error: {e.__class__.__name__}: {e}", elapsed_s=elapsed)
        finally:
            timer.cancel()
            conn.close()


class ThreadRunner:
    """Runs calls on worker threads; completions come back through a queue."""

    def __init__(self, clock, workers):
        self.clock = clock
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="apidest")
        self.done = queue.Queue()

    def start(self, transport, token, body):
        def run():
            try:
                r = transport.send(body)
            except Exception as e:  # a transport bug must not hang the run
                r = Response(None, error=f"transport error: {e!r}")
            self.done.put((token, r))

        self.pool.submit(run)

    def wait(self, until):
        """Completions, waiting until one arrives or the clock reaches `until`."""
        out = []
        timeout = None if until == math.inf else max(0.0, until - self.clock.now())
        try:
            out.append(self.done.get(timeout=timeout))
        except queue.Empty:
            return out
        while True:
            try:
                out.append(self.done.get_nowait())
            except queue.Empty:
                return out

    def close(self):
        self.pool.shutdown(wait=True)


# ------------------------------------------------------------------------- delivery


@dataclass
class RetryPolicy:
    max_retries: int = MAX_RETRIES  # MaximumRetryAttempts: calls after the first
    max_event_age_s: float = MAX_EVENT_AGE_S  # MaximumEventAgeInSeconds
    base_delay_s: float = BASE_DELAY_S
    max_delay_s: float = MAX_DELAY_S

    def backoff(self, retry, rng):
        """Full jitter: the delay before retry number `retry` (1 = the first retry)."""
        return rng.uniform(0.0, min(self.max_delay_s, self.base_delay_s * 2 ** (retry - 1)))


def retryable(r: Response):
    return r.status is None or r.status == 429 or 500 <= r.status <= 599


def retry_after_s(headers, wall):
    """Retry-After in seconds (delta-seconds, possibly negative, or an HTTP-date), or None."""
    v = headers.get("retry-after")
    if v is None:
        return None
    v = v.strip()
    try:
        return float(int(v))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(v)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return (when - wall).total_seconds()


class _Delivery:
    def __init__(self, index, event, arrival):
        self.index = index
        self.event = event
        self.body = json.dumps(event, ensure_ascii=False).encode()
        self.arrival = arrival
        self.attempts = []
        self.outcome = None  # "delivered" | "dead-letter"
        self.dlq = None
        self.done_at = None


class ApiDestination:
    """One rule target: an API destination with a retry policy and a dead-letter queue.

    transport: has send(body) -> Response (HttpTransport, or a fake in the tests).
    clock/runner: real time and threads by default; the unit tests pass a fake pair.
    """

    def __init__(self, transport, rate_per_s=10.0, policy=None, *, clock=None, runner=None,
                 rng=None, timeout_s=TIMEOUT_S,
                 rule_arn="arn:aws:events:eu-west-1:123456789012:rule/enlarger-originals",
                 target_arn="arn:aws:events:eu-west-1:123456789012:api-destination/enlarger-process"):
        if rate_per_s <= 0:
            raise ValueError("rate_per_s must be positive")
        self.transport = transport
        self.rate = float(rate_per_s)
        self.policy = policy or RetryPolicy()
        self.clock = clock or RealClock()
        # At most rate x timeout calls are ever in flight.
        self.runner = runner or ThreadRunner(self.clock, int(math.ceil(self.rate * timeout_s)) + 2)
        self.rng = rng or random.Random()
        self.timeout_s = timeout_s
        self.rule_arn, self.target_arn = rule_arn, target_arn

    def deliver(self, events, *, arrival_rate_per_s=None, dlq_path=None, on_done=None):
        """Delivers `events` (dicts) and returns the report. Event i arrives i /
        arrival_rate_per_s seconds after the start (all at once without a rate). `on_done(e)`
        is called with each event's report entry as soon as it is delivered or dead-lettered."""
        clock, policy = self.clock, self.policy
        start = clock.now()
        wall0 = clock.wall()
        seq = itertools.count()
        due = []  # (time, order, delivery)
        deliveries = []
        for i, ev in enumerate(events):
            at = start + (i / arrival_rate_per_s if arrival_rate_per_s else 0.0)
            d = _Delivery(i, ev, at)
            deliveries.append(d)
            heapq.heappush(due, (at, next(seq), d))
        interval = 1.0 / self.rate
        next_call = start  # the rate limit: no call before this time
        in_flight = {}
        tokens = itertools.count()
        dlq_file = open(dlq_path, "w", encoding="utf-8") if dlq_path else None

        def rel(t):
            return round(t - start, 6)

        def wall_at(t):
            return datetime.fromtimestamp(wall0.timestamp() + (t - start), timezone.utc)

        def finish(d, outcome, now, dlq=None):
            d.outcome, d.done_at, d.dlq = outcome, now, dlq
            if dlq is not None and dlq_file:
                dlq_file.write(json.dumps({"key": _key_of(d.event), "status": dlq["status"],
                                           "body": d.event, "attributes": dlq["attributes"]},
                                          ensure_ascii=False) + "\n")
                dlq_file.flush()
            if on_done:
                on_done(self._entry(d, rel))

        def dead_letter(d, now, code, message, condition=None, status=None):
            attrs = {"ERROR_CODE": code, "ERROR_MESSAGE": message, "RULE_ARN": self.rule_arn,
                     "TARGET_ARN": self.target_arn, "RETRY_ATTEMPTS": max(0, len(d.attempts) - 1)}
            if condition:
                attrs["EXHAUSTED_RETRY_CONDITION"] = condition
            finish(d, "dead-letter", now, {"status": status, "attributes": attrs})

        try:
            while due or in_flight:
                now = clock.now()
                # Calls that are due, as the rate limit allows.
                while due and due[0][0] <= now and next_call <= now:
                    _, _, d = heapq.heappop(due)
                    if now - d.arrival > policy.max_event_age_s:
                        last = d.attempts[-1] if d.attempts else None
                        dead_letter(d, now, last["error_code"] if last else "NOT_SENT",
                                    "the event grew older than MaximumEventAgeInSeconds before it could be sent",
                                    "MaximumEventAgeInSeconds", last["status"] if last else None)
                        continue
                    next_call = max(next_call, now) + interval
                    token = next(tokens)
                    in_flight[token] = d
                    d.attempts.append({"n": len(d.attempts) + 1, "sent_at": rel(now)})
                    self.runner.start(self.transport, token, d.body)
                if not due and not in_flight:
                    break
                if due and due[0][0] <= now:
                    wake = next_call  # only the rate limit holds the next call back
                else:
                    wake = due[0][0] if due else math.inf
                for token, r in self.runner.wait(wake):
                    d = in_flight.pop(token)
                    self._completed(d, r, clock.now(), due, seq, wall_at, finish, dead_letter)
        finally:
            if dlq_file:
                dlq_file.close()
        return self._report(deliveries, start, rel)

    def _completed(self, d, r, now, due, seq, wall_at, finish, dead_letter):
        policy = self.policy
        if r.status is None and r.error == "timeout":
            code = "TIMEOUT"
        elif r.status is None:
            code = "CONNECTION_ERROR"
        else:
            code = str(r.status)
        a = d.attempts[-1]
        a.update({"status": r.status, "error": r.error, "error_code": code,
                  "elapsed_s": round(min(r.elapsed_s, self.timeout_s), 6)})
        if r.status is not None:
            a["body"] = r.body[:BODY_KEPT].decode("utf-8", "replace")
        if r.status is not None and 200 <= r.status <= 299:
            finish(d, "delivered", now)
            return
        if not retryable(r):
            dead_letter(d, now, code, f"the endpoint answered {r.status}, which is not retried", status=r.status)
            return
        ra = retry_after_s(r.headers, wall_at(now))
        if ra is not None:
            a["retry_after_s"] = ra
        if ra is not None and ra < 0:
            dead_letter(d, now, code, "negative Retry-After: no more retries", status=r.status)
            return
        retries_made = len(d.attempts) - 1
        if retries_made >= policy.max_retries:
            dead_letter(d, now, code, f"no success after {len(d.attempts)} calls",
                        "MaximumRetryAttempts", r.status)
            return
        delay = policy.backoff(retries_made + 1, self.rng)
        if ra is not None:
            delay = max(delay, ra)  # "the more conservative value"
        a["next_delay_s"] = round(delay, 6)
        if now + delay - d.arrival > policy.max_event_age_s:
            dead_letter(d, now, code, "the next retry would come after MaximumEventAgeInSeconds",
                        "MaximumEventAgeInSeconds", r.status)
            return
        heapq.heappush(due, (now + delay, next(seq), d))

    def _entry(self, d, rel):
        e = {"index": d.index, "key": _key_of(d.event), "id": d.event.get("id"),
             "outcome": d.outcome, "arrived_at": rel(d.arrival),
             "done_at": rel(d.done_at) if d.done_at is not None else None,
             "attempts": d.attempts, "retries": max(0, len(d.attempts) - 1)}
        if d.outcome == "delivered":
            e["status"] = d.attempts[-1]["status"]
            try:
                e["response"] = json.loads(d.attempts[-1].get("body") or "null")
            except ValueError:
                e["response"] = None
        if d.dlq:
            e["status"] = d.dlq["status"]
            e["dead_letter"] = d.dlq["attributes"]
        return e

    def _report(self, deliveries, start, rel):
        entries = [self._entry(d, rel) for d in deliveries]
        calls = [a for d in deliveries for a in d.attempts]
        by_status = {}
        for a in calls:
            k = str(a["status"]) if a.get("status") is not None else a.get("error_code", "?")
            by_status[k] = by_status.get(k, 0) + 1
        sent = [a["sent_at"] for a in calls]
        done = [e["done_at"] for e in entries if e["done_at"] is not None]
        lat = sorted(a["elapsed_s"] for a in calls if "elapsed_s" in a)

        def pct(p):
            return lat[min(len(lat) - 1, int(p / 100 * len(lat)))] if lat else None

        summary = {
            "events": len(entries),
            "delivered": sum(e["outcome"] == "delivered" for e in entries),
            "dead_lettered": sum(e["outcome"] == "dead-letter" for e in entries),
            "calls": len(calls),
            "retries_sent": len(calls) - sum(1 for d in deliveries if d.attempts),
            "calls_by_status": dict(sorted(by_status.items())),
            "first_call_at": min(sent) if sent else None,
            "last_done_at": max(done) if done else None,
            "call_seconds_p50": pct(50),
            "call_seconds_p99": pct(99),
            "call_seconds_max": lat[-1] if lat else None,
            "rate_per_s": self.rate,
            "timeout_s": self.timeout_s,
            "max_retries": self.policy.max_retries,
            "max_event_age_s": self.policy.max_event_age_s,
        }
        return {"summary": summary, "events": entries}

    def close(self):
        close = getattr(self.runner, "close", None)
        if close:
            close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _key_of(event):
    try:
        return event["detail"]["object"]["key"]
    except (KeyError, TypeError):
        return None


# ------------------------------------------------------------------------- CLI


def main(argv=None):
    ap = argparse.ArgumentParser(description="Deliver S3 Object Created events like an EventBridge API destination.")
    ap.add_argument("url", help="the endpoint, e.g. http://127.0.0.1:8080/process")
    ap.add_argument("keys", nargs="*", help="object keys (size 0, no ETag) besides --dir/--objects")
    ap.add_argument("--bucket", required=True)
    ap.add_argument("--dir", help="one event per file under this folder (key, size, MD5 ETag)")
    ap.add_argument("--objects", help="JSON lines: {\"key\", \"size\", \"etag\", \"versionId\", \"sequencer\"}")
    ap.add_argument("--rate", type=float, default=10.0, help="invocation rate limit per second (10)")
    ap.add_argument("--arrival-rate", type=float, help="events arrive at this rate per second (default: all at once)")
    ap.add_argument("--timeout", type=float, default=TIMEOUT_S, help="seconds per call (5)")
    ap.add_argument("--max-retries", type=int, default=MAX_RETRIES, help="MaximumRetryAttempts (185)")
    ap.add_argument("--max-event-age", type=float, default=MAX_EVENT_AGE_S, help="MaximumEventAgeInSeconds (86400)")
    ap.add_argument("--base-delay", type=float, default=BASE_DELAY_S, help="backoff base, seconds (1)")
    ap.add_argument("--max-delay", type=float, default=MAX_DELAY_S, help="backoff cap, seconds (300)")
    ap.add_argument("--api-key", help="value of the API-key header")
    ap.add_argument("--api-key-header", default="x-api-key")
    ap.add_argument("--region", default="eu-west-1")
    ap.add_argument("--url-encode-keys", action="store_true", help="encode keys as classic S3 notifications do")
    ap.add_argument("--seed", type=int, help="seed of the backoff jitter")
    ap.add_argument("--dlq", help="dead-letter file (JSON lines)")
    ap.add_argument("--report", help="the full report (JSON)")
    ap.add_argument("--quiet", action="store_true", help="no line per event")
    args = ap.parse_args(argv)

    objects = [S3Object(key=k) for k in args.keys]
    if args.dir:
        objects += objects_from_dir(args.dir)
    if args.objects:
        with open(args.objects, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    o = json.loads(line)
                    objects.append(S3Object(o["key"], int(o.get("size", 0)), o.get("etag"), o.get("versionId"),
                                            o.get("sequencer")))
    if not objects:
        ap.error("no objects: give keys, --dir or --objects")
    events = [s3_object_created(args.bucket, o, region=args.region, url_encode_key=args.url_encode_keys)
              for o in objects]
    headers = {args.api_key_header: args.api_key} if args.api_key else {}
    policy = RetryPolicy(args.max_retries, args.max_event_age, args.base_delay, args.max_delay)

    def show(e):
        if not args.quiet:
            last = e["attempts"][-1] if e["attempts"] else {}
            print(f"{e['done_at']:9.3f}s {e['outcome']:<11} {e['status'] if e['status'] is not None else last.get('error_code', '-')} "
                  f"calls={len(e['attempts'])} {e['key']}", flush=True)

    dest = ApiDestination(HttpTransport(args.url, headers, args.timeout), args.rate, policy,
                          rng=random.Random(args.seed), timeout_s=args.timeout)
    try:
        report = dest.deliver(events, arrival_rate_per_s=args.arrival_rate, dlq_path=args.dlq, on_done=show)
    finally:
        dest.close()
    if args.report:
        with open(args.report, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1, ensure_ascii=False)
    s = report["summary"]
    print(f"events {s['events']}: delivered {s['delivered']}, dead-lettered {s['dead_lettered']}; "
          f"calls {s['calls']}, retries sent {s['retries_sent']}, by status {json.dumps(s['calls_by_status'])}; "
          f"first call {s['first_call_at']} s, last done {s['last_done_at']} s; "
          f"call p50 {s['call_seconds_p50']} s, p99 {s['call_seconds_p99']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
