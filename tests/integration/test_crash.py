"""Crashes and outages in the middle of a burst of /process events (issue 15 point 4), the
real binary driven by the EventBridge API destination simulator (tests/eventbridge/apidest.py),
which redelivers what failed as EventBridge would (429 and 5xx, timeouts and refused
connections retried with backoff, honouring Retry-After). Items and objects are read through
the backend (sqlite3 / botocore), never through enlarger.

  test_crash.py                 local store + SQLite: the service SIGKILLed mid-burst and
                                restarted; a job longer than its lease keeps its claim; the
                                local store's disk full (a tmpfs, root only)
  test_crash.py --backend aws   S3 + DynamoDB stand-ins: the service SIGKILLed mid-burst;
                                DynamoDB (dynalite) stopped mid-burst and restarted

After each: every photo completed exactly once (one "photo processed" line per photo over
every server's log), every completed item's four derivatives whole and readable, and (local)
no .tmp- file left in the store. After the kill, each claim the dead process held is taken
over within 15 s: its lease (ENLARGER_LEASE_MS, 8 s, renewed while the work ran) ends
within 8 s of the kill."""

import argparse
import collections
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "eventbridge"))
sys.path.insert(0, os.path.join(HERE, "..", "aws"))
from apidest import (ApiDestination, HttpTransport, RetryPolicy, S3Object,  # noqa: E402
                     s3_object_created)
from enl_harness import (AwsBackend, LocalBackend, Server, check, done, make_image,  # noqa: E402
                         need_tools, standins_or_skip, vipsheader)

ap = argparse.ArgumentParser()
ap.add_argument("--backend", choices=["local", "aws"], default="local")
args = ap.parse_args()

need_tools("vips", "vipsheader")

KEY = "crash-test-key-0123456789"
N_PHOTOS = 50
LEASE_MS = 8000  # the service's default, said here so the checks below can use it
TAKEOVER_S = 15.0
DERIVS = {"thumbnailKey": ("thumbnails", "webp", "thumbnailSize"),
          "thumbnailJpegKey": ("thumbnails", "jpeg", "thumbnailJpegSize"),
          "optimizedKey": ("optimized", "webp", "optimizedSize"),
          "optimizedJpegKey": ("optimized", "jpeg", "optimizedJpegSize")}
tmp = tempfile.mkdtemp(prefix="enl-crash-")
# EventBridge's policy, with a short backoff cap: the checks are about the service, and a
# 300 s cap would only make the test wait. The 5 s timeout is EventBridge's own.
POLICY = RetryPolicy(max_retries=185, max_event_age_s=600, base_delay_s=0.5, max_delay_s=2.0)
SERVER_ENV = {"ENLARGER_PROCESS_API_KEY": KEY, "ENLARGER_JOBS": 2, "ENLARGER_LEASE_MS": LEASE_MS}


def originals(backend, prefix, n=N_PHOTOS, w=800, h=600):
    """n distinct JPEGs (one noisy image, a different byte after its end each) as originals;
    returns their S3Objects."""
    base = make_image(os.path.join(tmp, f"{prefix}.jpg"), w, h)
    objs = []
    for i in range(n):
        key = f"{prefix}/photo-{i:02d}.jpg"
        data = base + bytes([i])
        etag = backend.put_original(key, data)
        objs.append(S3Object(key=key, size=len(data), etag=etag))
    return objs


# ---- reading the table and the stores ------------------------------------------------

def items(backend):
    """{photoId: flat item} of every photo, read the backend's own way."""
    if backend.name == "local":
        c = backend.db()
        try:
            return {r["photoId"]: dict(r) for r in c.execute("SELECT * FROM photos")}
        finally:
            c.close()
    out = {}
    for page in backend.ddb.get_paginator("scan").paginate(TableName=backend.table,
                                                           ConsistentRead=True):
        for raw in page.get("Items", []):
            pid = raw["photoId"]["S"]
            out[pid] = {k: backend._value(v) for k, v in raw.items()}
    return out


def whole(fmt, body):
    """Is body a whole file of its format (a write cut short is not)?"""
    if fmt == "jpeg":
        return body[:3] == b"\xff\xd8\xff" and body.rstrip(b"\0")[-2:] == b"\xff\xd9"
    return (len(body) >= 12 and body[:4] == b"RIFF" and body[8:12] == b"WEBP" and
            struct.unpack("<I", body[4:8])[0] + 8 == len(body))


def check_completed(backend, label, keys, sample_decode=5):
    """Every key's item is completed, and its four derivatives are there, whole, of the size
    the item says; a few are read by vipsheader too (the oracle)."""
    its = items(backend)
    decoded = 0
    for k in keys:
        it = its.get(k)
        if not check(it and it.get("processingStatus") == "completed",
                     f"{label}: {k} completed ({(it or {}).get('processingStatus')})"):
            continue
        for field, (bucket, fmt, size_field) in DERIVS.items():
            got = backend.get_object(bucket, it.get(field) or "")
            if not check(got is not None, f"{label}: {k} {field} {it.get(field)} exists"):
                continue
            body = got[0]
            check(whole(fmt, body), f"{label}: {k} {field} is a whole {fmt}")
            check(len(body) == it.get(size_field),
                  f"{label}: {k} {field} is {len(body)} bytes, the item says {it.get(size_field)}")
            if decoded < sample_decode:
                w, h, loader = vipsheader(body)
                check(fmt in loader and w > 0 and h > 0, f"{label}: {k} {field} reads ({loader})")
                decoded += 1


def processed_counts(servers):
    """photo id -> "photo processed" lines over every server's log."""
    n = collections.Counter()
    for s in servers:
        n.update(l.get("photoId") for l in s.log_lines() if l.get("msg") == "photo processed")
    return n


def check_once(servers, keys, label):
    n = processed_counts(servers)
    twice = {k: c for k, c in n.items() if c > 1}
    check(not twice, f"{label}: no photo completed twice: {twice}")
    # A photo completed by the killed process just before its log line was written has
    # no line at all: at most one, then, and the table says completed (check_completed).
    check(sum(n[k] for k in keys) >= len(keys) - 3,
          f"{label}: the completions are logged ({sum(n[k] for k in keys)} of {len(keys)})")


def tmp_files(root):
    out = []
    for d, _dirs, files in os.walk(root):
        out += [os.path.join(d, f) for f in files if f.startswith(".tmp-")]
    return out


# ---- the burst ------------------------------------------------------------------------

class Burst:
    """The events of objs (or the given events, redelivered) delivered by an API destination
    on its own thread (port: where the service listens, now and after a restart). report:
    the simulator's, once done."""

    def __init__(self, port, objs, rate=20.0, events=None):
        self.dest = ApiDestination(HttpTransport(f"http://127.0.0.1:{port}/process",
                                                 headers={"x-api-key": KEY}),
                                   rate_per_s=rate, policy=POLICY)
        self.events = events or [s3_object_created("originals", o) for o in objs]
        self.report = None
        self.dlq = os.path.join(tmp, f"dlq-{port}.jsonl")
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.report = self.dest.deliver(self.events, arrival_rate_per_s=20.0, dlq_path=self.dlq)

    def join(self, label, timeout=480):
        self.thread.join(timeout)
        if not check(not self.thread.is_alive(), f"{label}: every event delivered in {timeout} s"):
            return None
        self.dest.close()
        s = self.report["summary"]
        check(s["delivered"] == len(self.events) and s["dead_lettered"] == 0,
              f"{label}: all {len(self.events)} delivered, none dead-lettered: {s}")
        print(f"{label}: calls by status {s['calls_by_status']}, retries {s['retries_sent']}, "
              f"last done at {s['last_done_at']} s", flush=True)
        return s


def wait_for(cond, timeout, step=0.1):
    end = time.time() + timeout
    while time.time() < end:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return None


def mid_burst(backend, keys, min_done=8):
    """Waits until min_done photos are completed while others are still being processed;
    returns {photoId: attempt} of those processing then (None when the burst ended first)."""
    def state():
        its = items(backend)
        done_n = sum(1 for k in keys if (its.get(k) or {}).get("processingStatus") == "completed")
        busy = {k: its[k]["attempt"] for k in keys
                if (its.get(k) or {}).get("processingStatus") == "processing"}
        return busy if done_n >= min_done and busy else None
    return wait_for(state, 240, 0.05)


def start_on(backend, port, data=None, tries=5):
    """A server on port (a restart: the port the simulator calls); retried while the old
    process's socket is still going away."""
    for i in range(tries):
        try:
            return Server(backend, data=data, port=port, **SERVER_ENV)
        except RuntimeError as e:
            if i == tries - 1:
                raise
            print(f"restart on {port} failed, again: {str(e)[-200:]}", flush=True)
            time.sleep(0.5)


# ---- scenarios ------------------------------------------------------------------------

def kill_mid_burst(backend, data=None):
    label = f"kill ({backend.name})"
    srv = Server(backend, data=data, **SERVER_ENV)
    servers = [srv]
    try:
        objs = originals(backend, "kill")
        keys = [o.key for o in objs]
        burst = Burst(srv.port, objs)
        held = mid_burst(backend, keys)
        if not check(held, f"{label}: photos were in flight when the kill came"):
            burst.join(label)
            return
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait()
        killed_at = time.time()
        # The claims the kill left behind: a photo seen in flight may have completed
        # before the kill landed, and then its retry is a duplicate, with nothing to take
        # over. The dead claims' leases were renewed while they worked, and end within one
        # lease of the kill: not the old 60 s.
        its = items(backend)
        held = {k: att for k, att in held.items()
                if (its.get(k) or {}).get("attempt") == att
                and its[k].get("processingStatus") == "processing"}
        check(held, f"{label}: the kill left claims behind")
        for k in held:
            left = its[k]["leaseUntil"] / 1000.0 - killed_at
            check(left <= LEASE_MS / 1000.0 + 0.5,
                  f"{label}: {k}'s dead claim ends {left:.1f} s after the kill")
        print(f"{label}: killed with {len(held)} in flight", flush=True)
        srv.log.close()
        srv2 = start_on(backend, srv.port, data=data)
        servers.append(srv2)

        taken = {}

        def all_taken():
            now_items = items(backend)
            for k, att in held.items():
                if k not in taken and (now_items.get(k) or {}).get("attempt") != att:
                    taken[k] = time.time() - killed_at
            return len(taken) == len(held)
        wait_for(all_taken, 60, 0.1)
        for k in held:
            check(k in taken and taken[k] <= TAKEOVER_S,
                  f"{label}: the dead process's claim of {k} taken over within "
                  f"{TAKEOVER_S:.0f} s ({taken.get(k, 'never')})")
        if taken:
            print(f"{label}: claims taken over after {max(taken.values()):.1f} s at most",
                  flush=True)
        burst.join(label)
        check_completed(backend, label, keys)
        check_once(servers, keys, label)
        if backend.name == "local":
            left = tmp_files(backend.data)
            check(not left, f"{label}: no .tmp- file left in the store: {left[:5]}")
    finally:
        for s in servers:
            if s.proc.poll() is None:
                s.stop()
        for s in servers:
            s.cleanup()


def dynamodb_down_mid_burst(backend, st):
    label = "dynamodb down (aws)"
    srv = Server(backend, **SERVER_ENV, ENLARGER_AWS_TIMEOUT_MS=1500,
                 ENLARGER_AWS_RETRY_DEADLINE_MS=1000)
    try:
        objs = originals(backend, "ddb")
        keys = [o.key for o in objs]
        burst = Burst(srv.port, objs)
        if not check(mid_burst(backend, keys), f"{label}: photos in flight at the stop"):
            burst.join(label)
            return
        st.stop_dynamodb()
        time.sleep(3)  # a few events fail meanwhile (503), and their retries too
        st.start_dynamodb()
        print(f"{label}: dynalite stopped for 3 s", flush=True)
        burst.join(label)
        check_completed(backend, label, keys)
        check_once([srv], keys, label)
        rc = srv.stop()
        check(rc == 0, f"{label}: the server exits 0 on SIGTERM: {rc}")
    finally:
        if not st.ddb.running():
            st.start_dynamodb()
        srv.cleanup()


def lease_renewed():
    """A job longer than its lease (ENLARGER_LEASE_MS=1000, a 75 MP original, one job):
    the heartbeat keeps the claim, so the event's retry mid-way is answered 429 and the
    pipeline runs once; leaseUntil moves while the work runs."""
    label = "lease renewed (local)"
    srv = Server(None, ENLARGER_PROCESS_API_KEY=KEY, ENLARGER_JOBS=1, ENLARGER_LEASE_MS=1000)
    try:
        key = "slow/big.jpg"
        srv.put_original(key, make_image(os.path.join(tmp, "big.jpg"), 10000, 7500))
        ev = s3_object_created("originals", S3Object(key=key))
        first = {}

        def post():
            first["r"] = srv.request("POST", "/process", ev, {"x-api-key": KEY}, timeout=300)
        t = threading.Thread(target=post)
        t.start()
        leases, attempts, retry = set(), set(), None
        seen_at = None
        while t.is_alive():
            it = srv.row(key) or {}
            if it.get("processingStatus") == "processing":
                seen_at = seen_at or time.time()
                leases.add(it["leaseUntil"])
                attempts.add(it["attempt"])
                if retry is None and time.time() - seen_at > 1.3:
                    retry = srv.request("POST", "/process", ev, {"x-api-key": KEY})
            time.sleep(0.05)
        t.join()
        took = time.time() - seen_at if seen_at else 0
        check(first["r"][0] == 200 and b'"processed"' in first["r"][2],
              f"{label}: the first event processes the photo: {first['r'][0]}")
        if retry is not None:
            check(retry[0] == 429, f"{label}: the retry mid-way is in flight (429), not a "
                  f"takeover: {retry[0]} {retry[2][:160]!r}")
        else:  # a machine fast enough to finish first; the leases below still show it
            print(f"{label}: the job ended before a retry past its lease ({took:.1f} s)")
        check(len(attempts) == 1, f"{label}: one attempt held the claim: {attempts}")
        check(len(leases) >= 2, f"{label}: leaseUntil renewed while the job ran: {sorted(leases)}")
        runs = sum(1 for l in srv.log_lines() if l.get("msg") == "pipeline run")
        check(runs == 1, f"{label}: the pipeline ran once ({runs})")
        print(f"{label}: a {took:.1f} s job under a 1 s lease, {len(leases)} leases seen",
              flush=True)
        check(srv.stop() == 0, f"{label}: the server exits 0 on SIGTERM")
    finally:
        srv.cleanup()


def fill(path):
    """Writes path until the file system has no byte left (chunks, then single bytes)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for size in (1 << 20, 65536, 4096, 1):
            chunk = b"\0" * size
            try:
                while True:
                    os.write(fd, chunk)
            except OSError:
                pass
    finally:
        os.close(fd)


def disk_full():
    """The local store's disk full: a tmpfs of a few MiB under the data dir, filled up."""
    label = "disk full (local)"
    if os.geteuid() != 0:
        print("skip disk full: needs root to mount a small tmpfs")
        return
    mnt = tempfile.mkdtemp(prefix="enl-full-")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0755", "tmpfs", mnt],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(f"skip disk full: cannot mount a tmpfs ({r.stderr.strip()})")
        os.rmdir(mnt)
        return
    data = os.path.join(mnt, "data")
    srv = None
    try:
        backend = LocalBackend(data)
        srv = Server(backend, data=data, **SERVER_ENV)
        objs = originals(backend, "full", n=6, w=1600, h=1200)
        keys = [o.key for o in objs]
        filler = os.path.join(mnt, "filler")
        fill(filler)
        events = [s3_object_created("originals", o) for o in objs]
        for ev in events:
            code, h, body = srv.request("POST", "/process", ev, {"x-api-key": KEY})
            check(code == 503, f"{label}: {ev['detail']['object']['key']}: 503 ({code} {body[:160]!r})")
            check(int(h.get("retry-after", "0")) >= 1, f"{label}: the 503 has Retry-After")
        its = items(backend)
        check(not any((its.get(k) or {}).get("processingStatus") == "completed" for k in keys),
              f"{label}: nothing completed on a full disk")
        # Whatever did reach the buckets is whole (a derivative is renamed into place only
        # once written), and no temporary is left.
        for bucket in ("thumbnails", "optimized"):
            for k in backend.list_keys(bucket):
                body = backend.get_object(bucket, k)[0]
                f = "webp" if k.endswith(".webp") else "jpeg"
                check(whole(f, body), f"{label}: {bucket}/{k} is whole")
        check(not tmp_files(data), f"{label}: no .tmp- file on the full disk")
        # Space returns: the retries complete.
        os.unlink(filler)
        burst = Burst(srv.port, objs, events=events)  # the same events (sequencers) again
        burst.join(label)
        check_completed(backend, label, keys)
        check_once([srv], keys, label)
        check(not tmp_files(data), f"{label}: no .tmp- file after the recovery")
        rc = srv.stop()
        check(rc == 0, f"{label}: the server exits 0 on SIGTERM: {rc}")
    finally:
        if srv:
            srv.cleanup()
        subprocess.run(["umount", mnt])
        os.rmdir(mnt)


def main():
    try:
        if args.backend == "local":
            d = os.path.join(tmp, "local-data")
            kill_mid_burst(LocalBackend(d), data=d)
            lease_renewed()
            disk_full()
        else:
            st = standins_or_skip()
            with st:
                kill_mid_burst(AwsBackend(st))
                dynamodb_down_mid_burst(AwsBackend(st), st)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    done()


if __name__ == "__main__":
    main()
