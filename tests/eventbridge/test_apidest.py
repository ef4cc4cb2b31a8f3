#!/usr/bin/env python3
"""Unit tests of apidest.py, the EventBridge API destination in a box (ctest label unit).

Delivery runs on a fake clock: the fake transport says what each call answers and how long it
takes, and a simulated runner completes calls in virtual time, so backoff, Retry-After, the
rate limit, the 5 s timeout and the event age are checked to the millisecond without
sleeping. Two tests use real HTTP on loopback: the transport (headers, body, timeout) and the
CLI end to end."""

import hashlib
import heapq
import http.server
import itertools
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apidest  # noqa: E402
from apidest import ApiDestination, HttpTransport, Response, RetryPolicy, S3Object  # noqa: E402


class FakeClock:
    def __init__(self):
        self.t = 1000.0
        self.wall0 = datetime(2026, 12, 1, 12, 0, 0, tzinfo=timezone.utc)

    def now(self):
        return self.t

    def wall(self):
        return self.wall0 + timedelta(seconds=self.t - 1000.0)


class SimRunner:
    """Completes each call elapsed_s after it started, in virtual time; a call longer than the
    timeout completes as a timeout at the timeout, as HttpTransport's timer makes it."""

    def __init__(self, clock, timeout_s=apidest.TIMEOUT_S):
        self.clock, self.timeout_s = clock, timeout_s
        self.pending = []
        self.seq = itertools.count()
        self.max_in_flight = 0

    def start(self, transport, token, body):
        r = transport.send(body)
        if r.elapsed_s >= self.timeout_s:
            r = Response(None, error="timeout", elapsed_s=self.timeout_s)
        heapq.heappush(self.pending, (self.clock.t + r.elapsed_s, next(self.seq), token, r))
        self.max_in_flight = max(self.max_in_flight, len(self.pending))

    def wait(self, until):
        if not self.pending and until == math.inf:
            raise AssertionError("the dispatcher would wait forever")
        t = min(self.pending[0][0] if self.pending else math.inf, until)
        self.clock.t = max(self.clock.t, t)
        out = []
        while self.pending and self.pending[0][0] <= self.clock.t:
            _, _, token, r = heapq.heappop(self.pending)
            out.append((token, r))
        return out


class Script:
    """A fake endpoint: answer(key, n) -> Response for the n-th call (1-based) about `key`."""

    def __init__(self, clock, answer):
        self.clock, self.answer = clock, answer
        self.calls = []  # (time, key, n, body)
        self.count = {}

    def send(self, body):
        ev = json.loads(body)
        key = ev["detail"]["object"]["key"]
        n = self.count[key] = self.count.get(key, 0) + 1
        self.calls.append((self.clock.t, key, n, ev))
        return self.answer(key, n)


class MaxRng:
    """The jitter's upper end every time: the backoff's bound itself."""

    def uniform(self, a, b):
        return b


class MinRng:
    def uniform(self, a, b):
        return a


def ok(body=None, elapsed=0.05):
    return Response(200, {"content-type": "application/json"}, json.dumps(body or {"outcome": "processed"}).encode(),
                    elapsed_s=elapsed)


def status(code, elapsed=0.05, retry_after=None, body=b""):
    h = {} if retry_after is None else {"retry-after": str(retry_after)}
    return Response(code, h, body, elapsed_s=elapsed)


def events(n, bucket="originals"):
    return [apidest.s3_object_created(bucket, S3Object(f"p{i:03d}.jpg", 1000 + i, "%032x" % i)) for i in range(n)]


def run(answer, evs, rate=10.0, policy=None, rng=None, arrival=None, dlq=None):
    clock = FakeClock()
    runner = SimRunner(clock)
    script = Script(clock, answer)
    dest = ApiDestination(script, rate, policy or RetryPolicy(), clock=clock, runner=runner, rng=rng or random.Random(7))
    report = dest.deliver(evs, arrival_rate_per_s=arrival, dlq_path=dlq)
    return report, script, runner


def rel(script):
    return [(round(t - 1000.0, 6), k, n) for t, k, n, _ in script.calls]


class EventShape(unittest.TestCase):
    def test_object_created_as_s3_sends_it(self):
        when = datetime(2026, 12, 1, 8, 30, 5, tzinfo=timezone.utc)
        ev = apidest.s3_object_created("originals", S3Object("alice/IMG 0001+ü%.jpg", 123, "abc", "v1", "00AB"),
                                       region="eu-west-1", account="111122223333", when=when, event_id="id-1")
        self.assertEqual(sorted(ev), ["account", "detail", "detail-type", "id", "region", "resources", "source", "time", "version"])
        self.assertEqual((ev["version"], ev["id"], ev["detail-type"], ev["source"]), ("0", "id-1", "Object Created", "aws.s3"))
        self.assertEqual((ev["account"], ev["region"], ev["time"]), ("111122223333", "eu-west-1", "2026-12-01T08:30:05Z"))
        self.assertEqual(ev["resources"], ["arn:aws:s3:::originals"])
        d = ev["detail"]
        self.assertEqual(sorted(d), ["bucket", "object", "reason", "request-id", "requester", "source-ip-address", "version"])
        self.assertEqual(d["bucket"], {"name": "originals"})
        self.assertEqual(d["object"], {"key": "alice/IMG 0001+ü%.jpg", "size": 123, "etag": "abc", "version-id": "v1", "sequencer": "00AB"})
        self.assertEqual(d["reason"], "PutObject")
        enc = apidest.s3_object_created("originals", S3Object("alice/IMG 0001+ü%.jpg"), url_encode_key=True)
        self.assertEqual(enc["detail"]["object"]["key"], "alice/IMG+0001%2B%C3%BC%25.jpg")

    def test_sequencers_grow(self):
        seqs = [apidest.s3_object_created("b", S3Object("k"))["detail"]["object"]["sequencer"] for _ in range(50)]
        self.assertEqual(seqs, sorted(seqs))
        self.assertEqual(len(set(seqs)), 50)
        self.assertTrue(all(len(s) == 18 and int(s, 16) > 0 for s in seqs))

    def test_objects_from_dir(self):
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, "a b"))
            with open(os.path.join(d, "a b", "x.jpg"), "wb") as f:
                f.write(b"hello")
            with open(os.path.join(d, "y.jpg"), "wb") as f:
                f.write(b"")
            objs = apidest.objects_from_dir(d)
        self.assertEqual([(o.key, o.size, o.etag) for o in objs],
                         [("a b/x.jpg", 5, "5d41402abc4b2a76b9719d911017c592"), ("y.jpg", 0, "d41d8cd98f00b204e9800998ecf8427e")])


class WhatIsRetried(unittest.TestCase):
    def test_2xx_is_delivered_once_and_the_body_is_the_event(self):
        evs = events(3)
        report, script, _ = run(lambda k, n: ok(), evs)
        s = report["summary"]
        self.assertEqual((s["events"], s["delivered"], s["dead_lettered"], s["calls"], s["retries_sent"]), (3, 3, 0, 3, 0))
        self.assertEqual([c[3] for c in script.calls], evs)
        self.assertEqual(report["events"][0]["response"], {"outcome": "processed"})

    def test_other_4xx_and_3xx_go_to_the_dead_letter_file_at_once(self):
        codes = {"p000.jpg": 422, "p001.jpg": 401, "p002.jpg": 404, "p003.jpg": 302, "p004.jpg": 400, "p005.jpg": 413}
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "dlq.jsonl")
            evs = events(7)
            report, script, _ = run(lambda k, n: status(codes.get(k, 200)), evs, dlq=path)
            with open(path) as f:
                lines = [json.loads(x) for x in f]
        self.assertEqual(len(script.calls), 7, "no retries")
        self.assertEqual(sorted((x["key"], x["status"]) for x in lines), sorted(codes.items()))
        for x in lines:
            self.assertEqual(x["body"], evs[int(x["key"][1:4])], "the DLQ message body is the event")
            a = x["attributes"]
            self.assertEqual(a["ERROR_CODE"], str(x["status"]))
            self.assertEqual(a["RETRY_ATTEMPTS"], 0)
            self.assertNotIn("EXHAUSTED_RETRY_CONDITION", a)
            self.assertTrue(a["RULE_ARN"].startswith("arn:aws:events:") and a["TARGET_ARN"].startswith("arn:aws:events:"))
        self.assertEqual(report["summary"]["dead_lettered"], 6)
        self.assertEqual(report["events"][6]["outcome"], "delivered")

    def test_429_5xx_timeouts_and_connection_errors_are_retried(self):
        first = {"p000.jpg": status(429), "p001.jpg": status(500), "p002.jpg": status(503), "p003.jpg": status(504),
                 "p004.jpg": Response(None, error="connection error: ConnectionRefusedError", elapsed_s=0.001),
                 "p005.jpg": ok(elapsed=7.0)}
        report, script, _ = run(lambda k, n: first[k] if n == 1 else ok(), events(6))
        self.assertEqual(report["summary"]["delivered"], 6)
        self.assertEqual(report["summary"]["retries_sent"], 6)
        by_key = {e["key"]: e for e in report["events"]}
        self.assertEqual([a["error_code"] for a in by_key["p005.jpg"]["attempts"]], ["TIMEOUT", "200"])
        self.assertEqual(by_key["p005.jpg"]["attempts"][0]["elapsed_s"], 5.0)
        self.assertEqual(by_key["p004.jpg"]["attempts"][0]["error_code"], "CONNECTION_ERROR")
        self.assertEqual(report["summary"]["calls_by_status"],
                         {"200": 6, "429": 1, "500": 1, "503": 1, "504": 1, "CONNECTION_ERROR": 1, "TIMEOUT": 1})

    def test_a_call_that_takes_5_s_has_failed(self):
        report, _, _ = run(lambda k, n: ok(elapsed=5.0) if n == 1 else ok(elapsed=4.99), events(1))
        self.assertEqual([a["error_code"] for a in report["events"][0]["attempts"]], ["TIMEOUT", "200"])


class Backoff(unittest.TestCase):
    def test_exponential_with_full_jitter_up_to_the_cap(self):
        policy = RetryPolicy(max_retries=12, base_delay_s=1.0, max_delay_s=300.0)
        report, script, _ = run(lambda k, n: status(503, elapsed=0.0), events(1), policy=policy, rng=MaxRng())
        delays = [a["next_delay_s"] for a in report["events"][0]["attempts"][:-1]]
        self.assertEqual(delays, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300])
        times = [t for t, _, _ in rel(script)]
        self.assertEqual([round(b - a, 6) for a, b in zip(times, times[1:])], delays)
        # The jitter draws from [0, bound]: with a seeded generator every delay is inside it,
        # and they are not all at the bound.
        report, _, _ = run(lambda k, n: status(503, elapsed=0.0), events(1), policy=policy, rng=random.Random(1))
        jittered = [a["next_delay_s"] for a in report["events"][0]["attempts"][:-1]]
        for d, bound in zip(jittered, delays):
            self.assertTrue(0 <= d <= bound, (d, bound))
        self.assertNotEqual(jittered, delays)

    def test_retry_after_wins_when_longer_and_loses_when_shorter(self):
        policy = RetryPolicy(base_delay_s=1.0)
        # Backoff bound 1, 2, 4 s; Retry-After 3 s each time: waits 3, 3, 4 (with MaxRng).
        report, script, _ = run(lambda k, n: status(429, elapsed=0.0, retry_after=3) if n <= 3 else ok(elapsed=0.0),
                                events(1), policy=policy, rng=MaxRng())
        self.assertEqual([t for t, _, _ in rel(script)], [0.0, 3.0, 6.0, 10.0])
        self.assertEqual(report["events"][0]["attempts"][0]["retry_after_s"], 3.0)
        # With no jitter drawn (MinRng), Retry-After alone decides.
        report, script, _ = run(lambda k, n: status(503, elapsed=0.0, retry_after=2) if n <= 2 else ok(elapsed=0.0),
                                events(1), policy=policy, rng=MinRng())
        self.assertEqual([t for t, _, _ in rel(script)], [0.0, 2.0, 4.0])

    def test_retry_after_as_an_http_date(self):
        clock_wall = FakeClock().wall()
        date = (clock_wall + timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT")
        resp = Response(503, {"retry-after": date}, elapsed_s=0.0)
        report, script, _ = run(lambda k, n: resp if n == 1 else ok(elapsed=0.0), events(1), rng=MinRng())
        self.assertEqual([t for t, _, _ in rel(script)], [0.0, 30.0])

    def test_negative_retry_after_stops_the_retries(self):
        report, script, _ = run(lambda k, n: status(503, retry_after=-1), events(1))
        self.assertEqual(len(script.calls), 1)
        e = report["events"][0]
        self.assertEqual((e["outcome"], e["status"]), ("dead-letter", 503))
        self.assertNotIn("EXHAUSTED_RETRY_CONDITION", e["dead_letter"])


class Limits(unittest.TestCase):
    def test_maximum_retry_attempts(self):
        report, script, _ = run(lambda k, n: status(500, elapsed=0.0), events(1),
                                policy=RetryPolicy(max_retries=4, base_delay_s=0.01), rng=MaxRng())
        self.assertEqual(len(script.calls), 5, "the first call and 4 retries")
        e = report["events"][0]
        self.assertEqual(e["dead_letter"]["EXHAUSTED_RETRY_CONDITION"], "MaximumRetryAttempts")
        self.assertEqual(e["dead_letter"]["RETRY_ATTEMPTS"], 4)
        self.assertEqual((e["status"], e["retries"]), (500, 4))

    def test_the_default_policy_is_185_retries_in_24_hours(self):
        self.assertEqual((RetryPolicy().max_retries, RetryPolicy().max_event_age_s), (185, 86400))
        report, script, _ = run(lambda k, n: status(503, elapsed=0.0), events(1), rng=MaxRng())
        e = report["events"][0]
        # Every delay at its bound: 1 + 2 + ... + 256 s for the first 9 retries, then 300 s
        # for the other 176: the 186th call at 53,311 s, inside the 24 hours.
        self.assertEqual(len(script.calls), 186)
        self.assertEqual(script.calls[-1][0] - 1000.0, 511 + 176 * 300)
        self.assertEqual(e["dead_letter"]["EXHAUSTED_RETRY_CONDITION"], "MaximumRetryAttempts")
        self.assertEqual(e["dead_letter"]["RETRY_ATTEMPTS"], 185)

    def test_maximum_event_age(self):
        policy = RetryPolicy(max_event_age_s=300)
        report, script, _ = run(lambda k, n: status(503, elapsed=0.0, retry_after=100), events(1), policy=policy, rng=MinRng())
        self.assertEqual([t for t, _, _ in rel(script)], [0.0, 100.0, 200.0, 300.0])
        e = report["events"][0]
        self.assertEqual(e["dead_letter"]["EXHAUSTED_RETRY_CONDITION"], "MaximumEventAgeInSeconds")
        self.assertEqual(e["done_at"], 300.0, "dead-lettered when the next retry would come too late")

    def test_a_backlog_older_than_the_maximum_age_is_never_sent(self):
        # 100 events at once at 1 call/s with 60 s of age: 61 are sent, 39 dead-lettered unsent.
        report, script, _ = run(lambda k, n: ok(elapsed=0.0), events(100), rate=1.0,
                                policy=RetryPolicy(max_event_age_s=60))
        s = report["summary"]
        self.assertEqual((s["delivered"], s["dead_lettered"], s["calls"]), (61, 39, 61))
        unsent = [e for e in report["events"] if e["outcome"] == "dead-letter"]
        self.assertTrue(all(e["attempts"] == [] and e["dead_letter"]["ERROR_CODE"] == "NOT_SENT" for e in unsent))


class RateAndConcurrency(unittest.TestCase):
    def test_calls_never_exceed_the_rate_retries_included(self):
        answer = lambda k, n: status(429, elapsed=0.2, retry_after=1) if n <= 2 else ok(elapsed=0.2)
        report, script, _ = run(answer, events(40), rate=10.0, arrival=20.0)
        times = sorted(t for t, _, _, _ in script.calls)
        self.assertEqual(len(times), 120)
        gaps = [round(b - a, 9) for a, b in zip(times, times[1:])]
        self.assertGreaterEqual(min(gaps), 0.1 - 1e-9)
        for i in range(len(times)):
            in_window = [t for t in times[i:] if t < times[i] + 1.0]
            self.assertLessEqual(len(in_window), 10)
        self.assertEqual(report["summary"]["retries_sent"], 80)

    def test_slow_answers_do_not_hold_back_the_next_calls(self):
        report, script, runner = run(lambda k, n: ok(elapsed=3.0), events(30), rate=10.0)
        first_calls = [t - 1000.0 for t, _, n, _ in script.calls if n == 1]
        self.assertAlmostEqual(max(first_calls), 2.9, places=6)
        self.assertEqual(runner.max_in_flight, 30)
        self.assertAlmostEqual(report["summary"]["last_done_at"], 5.9, places=6)

    def test_events_arrive_at_their_own_rate_and_age_from_arrival(self):
        report, script, _ = run(lambda k, n: ok(elapsed=0.0), events(5), rate=100.0, arrival=2.0)
        self.assertEqual([t for t, _, _ in rel(script)], [0.0, 0.5, 1.0, 1.5, 2.0])
        self.assertEqual([e["arrived_at"] for e in report["events"]], [0.0, 0.5, 1.0, 1.5, 2.0])


class Report(unittest.TestCase):
    def test_per_event_outcomes_attempts_and_timings(self):
        answer = lambda k, n: status(429, elapsed=0.5, retry_after=2, body=b'{"status":429}') if (k == "p001.jpg" and n == 1) else ok(elapsed=0.25)
        done = []
        clock = FakeClock()
        script = Script(clock, answer)
        dest = ApiDestination(script, 10, clock=clock, runner=SimRunner(clock), rng=MinRng())
        report = dest.deliver(events(3), on_done=done.append)
        self.assertEqual(sorted(e["key"] for e in done), ["p000.jpg", "p001.jpg", "p002.jpg"])
        e = report["events"][1]
        self.assertEqual(e["outcome"], "delivered")
        self.assertEqual(e["retries"], 1)
        self.assertEqual(e["attempts"][0], {"n": 1, "sent_at": 0.1, "status": 429, "error": None, "error_code": "429",
                                            "elapsed_s": 0.5, "body": '{"status":429}', "retry_after_s": 2.0,
                                            "next_delay_s": 2.0})
        self.assertEqual(e["attempts"][1]["sent_at"], 2.6)
        self.assertEqual(e["done_at"], 2.85)
        s = report["summary"]
        self.assertEqual((s["first_call_at"], s["last_done_at"], s["calls"], s["retries_sent"]), (0.0, 2.85, 4, 1))
        self.assertEqual(s["calls_by_status"], {"200": 3, "429": 1})
        self.assertEqual((s["call_seconds_p50"], s["call_seconds_max"]), (0.25, 0.5))


class _Handler(http.server.BaseHTTPRequestHandler):
    script = None  # set by the test: (path, headers, body) -> (status, headers, body, delay)
    seen = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append((self.path, dict(self.headers), body))
        code, headers, out, delay = type(self).script(self.path, self.headers, body)
        time.sleep(delay)
        try:
            self.send_response(code)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
        except OSError:
            pass

    def log_message(self, *a):
        pass


class OverHttp(unittest.TestCase):
    def setUp(self):
        _Handler.seen = []
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/process"

    def tearDown(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    def test_transport_headers_body_and_timeout(self):
        def script(path, headers, body):
            key = json.loads(body)["detail"]["object"]["key"]
            if key == "slow.jpg":
                return 200, {}, b"{}", 1.0
            tries = sum(1 for _, _, b in _Handler.seen if json.loads(b)["detail"]["object"]["key"] == key)
            if key == "busy.jpg" and tries == 1:
                return 429, {"Retry-After": "1"}, b'{"status":429}', 0
            if key == "bad.jpg":
                return 422, {"Content-Type": "application/problem+json"}, b'{"status":422}', 0
            return 200, {"Content-Type": "application/json"}, b'{"outcome":"processed"}', 0

        _Handler.script = staticmethod(script)
        evs = [apidest.s3_object_created("originals", S3Object(k, 1)) for k in ("a.jpg", "busy.jpg", "bad.jpg", "slow.jpg")]
        transport = HttpTransport(self.url, {"x-api-key": "k3y"}, timeout_s=0.4)
        with tempfile.TemporaryDirectory() as d, \
                ApiDestination(transport, 20, RetryPolicy(max_retries=1, base_delay_s=0.05), timeout_s=0.4) as dest:
            t0 = time.monotonic()
            report = dest.deliver(evs, dlq_path=os.path.join(d, "dlq.jsonl"))
            took = time.monotonic() - t0
            with open(os.path.join(d, "dlq.jsonl")) as f:
                dlq = sorted((x["key"], x["status"], x["attributes"].get("EXHAUSTED_RETRY_CONDITION")) for x in map(json.loads, f))
        path, headers, body = _Handler.seen[0]
        self.assertEqual(path, "/process")
        self.assertEqual(headers["User-Agent"], "Amazon/EventBridge/ApiDestinations")
        self.assertEqual(headers["Content-Type"], "application/json; charset=utf-8")
        self.assertEqual(headers["Connection"], "close")
        self.assertEqual(headers["Range"], "bytes=0-1048575")
        self.assertEqual(headers["x-api-key"], "k3y")
        self.assertIn(json.loads(body), evs)
        by_key = {e["key"]: e for e in report["events"]}
        self.assertEqual([a["status"] for a in by_key["busy.jpg"]["attempts"]], [429, 200])
        self.assertGreaterEqual(by_key["busy.jpg"]["attempts"][1]["sent_at"] - by_key["busy.jpg"]["attempts"][0]["sent_at"], 1.0)
        self.assertEqual(by_key["a.jpg"]["response"], {"outcome": "processed"})
        self.assertEqual([a["error_code"] for a in by_key["slow.jpg"]["attempts"]], ["TIMEOUT", "TIMEOUT"])
        self.assertTrue(all(0.39 <= a["elapsed_s"] <= 0.4 for a in by_key["slow.jpg"]["attempts"]))
        self.assertEqual(dlq, [("bad.jpg", 422, None), ("slow.jpg", None, "MaximumRetryAttempts")])
        self.assertLess(took, 4.0)

    def test_connection_refused_is_retried(self):
        self.server.shutdown()
        self.server.server_close()
        self.server = None
        transport = HttpTransport(self.url, timeout_s=0.5)
        with ApiDestination(transport, 50, RetryPolicy(max_retries=2, base_delay_s=0.01), timeout_s=0.5) as dest:
            report = dest.deliver(events(1))
        e = report["events"][0]
        self.assertEqual([a["error_code"] for a in e["attempts"]], ["CONNECTION_ERROR"] * 3)
        self.assertEqual(e["dead_letter"]["EXHAUSTED_RETRY_CONDITION"], "MaximumRetryAttempts")

    def test_cli(self):
        _Handler.script = staticmethod(lambda p, h, b: (422, {}, b'{"status":422}', 0) if b'"bad.jpg"' in b
                                       else (200, {}, b'{"outcome":"processed"}', 0))
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(d, "originals")
            os.makedirs(os.path.join(src, "trip"))
            for name in ("trip/a.jpg", "trip/b.jpg", "bad.jpg"):
                with open(os.path.join(src, name), "wb") as f:
                    f.write(name.encode())
            out = subprocess.run([sys.executable, apidest.__file__, self.url, "--bucket", "originals", "--dir", src,
                                  "--rate", "20", "--arrival-rate", "20", "--api-key", "k", "--seed", "1", "--max-retries", "2",
                                  "--dlq", os.path.join(d, "dlq.jsonl"), "--report", os.path.join(d, "r.json")],
                                 capture_output=True, text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn("events 3: delivered 2, dead-lettered 1; calls 3, retries sent 0", out.stdout)
            with open(os.path.join(d, "r.json")) as f:
                report = json.load(f)
            with open(os.path.join(d, "dlq.jsonl")) as f:
                dlq = [json.loads(x) for x in f]
        self.assertEqual([e["key"] for e in report["events"]], ["bad.jpg", "trip/a.jpg", "trip/b.jpg"])
        self.assertEqual(report["events"][1]["attempts"][0]["status"], 200)
        sent = {json.loads(b)["detail"]["object"]["key"]: json.loads(b)["detail"]["object"] for _, _, b in _Handler.seen}
        self.assertEqual(sent["trip/a.jpg"]["etag"], hashlib.md5(b"trip/a.jpg").hexdigest())
        self.assertEqual(sent["trip/a.jpg"]["size"], len(b"trip/a.jpg"))
        self.assertEqual([(x["key"], x["status"]) for x in dlq], [("bad.jpg", 422)])


if __name__ == "__main__":
    unittest.main(verbosity=2)
