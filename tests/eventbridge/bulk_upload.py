"""The bulk-upload test (issue 13 point 4): a photographer's upload of N photos (300 by
default; real camera files and the corpus from ../shared/testdata when present, images made
with the vips CLI otherwise and besides, 5 of them corrupt) dropped into the originals bucket,
their "Object Created" events delivered at 10 a second by the EventBridge API destination in
a box (apidest.py: 5 s timeout, retries of 429/5xx/timeouts with backoff and jitter honouring
Retry-After, dead-letter file) to the real binary pinned to one core (taskset -c 0) with the
stack's settings (ENLARGER_JOBS 2 for one vCPU, the API key; everything else the defaults the
stack leaves alone). Two runs on a fresh store each:

  plain   every good photo `completed` exactly once (one "photo processed" log line), its four
          derivatives readable; the corrupt ones `failed`, and in the dead-letter file with
          422; nothing else there, and every good event delivered with 200;
  kill    the same, with the service SIGKILLed once half the good photos are delivered and
          started again on the same port and store: nothing lost, and no item anywhere
          `completed` whose four derivatives are not all there and readable.

The store and table are read independently (files + sqlite3, or botocore on the stand-ins),
never through enlarger. Each run prints photos per minute per core, the retries sent and the
time from the first event to the last photo completed (its thumbnails written).

    bulk_upload.py [--backend local|aws] [--photos 300] [--runs plain,kill] [--json out.json]

ENL_BULK_PHOTOS sets --photos (ctest runs 100, see eventbridge.cmake)."""

import argparse
import collections
import glob
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "aws"))
import enl_harness as H  # noqa: E402
from apidest import (ApiDestination, HttpTransport, RetryPolicy, S3Object,  # noqa: E402
                     s3_object_created)

KEY = "bulk-upload-key-0123456789"
CORES = "0"
# The stack's task settings (infrastructure/lib/stacks/processing-stack.ts): 1 vCPU, so
# ENLARGER_JOBS = jobsForCpu(1024) = 2, an API key; the rest are the service's defaults.
STACK_ENV = {"ENLARGER_JOBS": 2, "ENLARGER_PROCESS_API_KEY": KEY, "ENLARGER_LOG_LEVEL": "info"}
# The four derivatives of a completed item: (key field, bucket, size field, magic check).
DERIVATIVES = [("thumbnailKey", "thumbnails", "thumbnailSize", "webp"),
               ("thumbnailJpegKey", "thumbnails", "thumbnailJpegSize", "jpeg"),
               ("optimizedKey", "optimized", "optimizedSize", "webp"),
               ("optimizedJpegKey", "optimized", "optimizedJpegSize", "jpeg")]


# ---- the photos ----------------------------------------------------------------------

def generated_bases(tmp):
    """Photo-like images of several sizes and formats, made with the vips CLI: a smooth
    gradient with a little grain (so they compress like photos, not like noise), one with
    camera EXIF and GPS when exiftool is there."""
    specs = [("gen-12mp.jpg", 4000, 3000), ("gen-6mp.jpg", 3000, 2000),
             ("gen-portrait.jpg", 1080, 1920), ("gen-2mp.jpg", 1600, 1200),
             ("gen-wide.png", 1800, 800), ("gen-4mp.webp", 2400, 1600),
             ("gen-small.jpg", 800, 600), ("gen-gps.jpg", 2400, 1600)]
    out = []
    for i, (name, w, h) in enumerate(specs):
        path = os.path.join(tmp, name)
        d = tempfile.mkdtemp(prefix="enl-bulk-img-", dir=tmp)
        v = lambda n: os.path.join(d, n)  # noqa: E731
        H.run("vips", "xyz", v("xy.v"), str(w), str(h))
        H.run("vips", "linear", v("xy.v"), v("l.v"), f"{255 / w:.5f} {255 / h:.5f}",
              f"{17 * i} {31 * i}")
        H.run("vips", "gaussnoise", v("n.v"), str(w), str(h), "--sigma", "8",
              "--mean", str(60 + 20 * i))
        H.run("vips", "bandjoin", f"{v('l.v')} {v('n.v')}", v("j.v"))
        H.run("vips", "cast", v("j.v"), v("u.v"), "uchar")
        H.run("vips", "copy", v("u.v"), path + ("[Q=88]" if name.endswith(".jpg") else ""))
        shutil.rmtree(d, ignore_errors=True)
        if name == "gen-gps.jpg" and shutil.which("exiftool"):
            H.add_gps(path)
        out.append(path)
    return out


def real_files():
    """The camera files and the corpus of ../shared/testdata, when it is there."""
    root = os.environ.get("ENL_SHARED_TESTDATA", "")
    out = []
    for sub, pats in (("photos", ("*.jpg", "*.HEIC")), ("corpus", ("*.jpg", "*.png"))):
        for p in pats:
            out += sorted(glob.glob(os.path.join(root, sub, p)))
    return out


def corrupt_files():
    """Five originals that are not images the service can take, each refused with 422."""
    heif = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + os.urandom(3000)
    return [("corrupt-garbage.jpg", b"\xff\xd8\xff\xe0" + os.urandom(4000)),
            ("corrupt-garbage.png", b"\x89PNG\r\n\x1a\n" + os.urandom(4000)),
            ("corrupt-text.jpg", b"this is not an image\n" * 100),
            ("corrupt-bomb.png", H.pixel_bomb_png()),
            ("corrupt-heif.heic", heif)]


def photo_set(n, n_corrupt, tmp):
    """[(key, bytes, good)] in upload order: a third real files (when there are any), the
    rest generated, the corrupt ones spread evenly."""
    real, gen = real_files(), generated_bases(tmp)
    n_good = n - n_corrupt
    n_real = n_good // 3 if real else 0
    srcs = [real[i % len(real)] for i in range(n_real)] + \
           [gen[i % len(gen)] for i in range(n_good - n_real)]
    good = []
    cache = {}
    for i, src in enumerate(srcs):
        if src not in cache:
            with open(src, "rb") as f:
                cache[src] = f.read()
        good.append((f"{i:04d}-{os.path.basename(src)}", cache[src], True))
    # Interleave real and generated, so the expensive ones are not all at one end.
    good = good[0::2] + good[1::2]
    out = list(good)
    for j, (name, data) in enumerate(corrupt_files()[:n_corrupt]):
        pos = (j * 2 + 1) * len(out) // (2 * max(1, n_corrupt)) + j
        out.insert(pos, (f"{n_good + j:04d}-{name}", data, False))
    print(f"photos: {n_good} good ({n_real} from ../shared/testdata "
          f"({len(real)} distinct files), {n_good - n_real} generated), {n_corrupt} corrupt",
          flush=True)
    return out


# ---- the store, read independently ------------------------------------------------------

def all_items(backend):
    """Every photo item as a flat dict."""
    if backend.name == "local":
        c = backend.db()
        try:
            return [H._Item(dict(r)) for r in c.execute("SELECT * FROM photos")]
        finally:
            c.close()
    out = []
    for page in backend.ddb.get_paginator("scan").paginate(TableName=backend.table,
                                                           ConsistentRead=True):
        for raw in page.get("Items", []):
            out.append(backend.item(raw["photoId"]["S"]))
    return out


def whole(body, kind):
    """The bytes end where the format says they end: a JPEG's EOI marker, a WebP's RIFF
    length. A write cut short fails this even when its header reads."""
    if kind == "jpeg":
        return body[:2] == b"\xff\xd8" and body.rstrip(b"\0")[-2:] == b"\xff\xd9"
    return (body[:4] == b"RIFF" and body[8:12] == b"WEBP" and
            int.from_bytes(body[4:8], "little") + 8 == len(body))


def check_derivatives(backend, items, tmp, label):
    """Every completed item's four derivatives exist, have the bytes the item records, are
    whole, and vipsheader reads them as what they should be. Returns how many were bad."""
    bad = 0
    files = []
    d = tempfile.mkdtemp(prefix="enl-bulk-deriv-", dir=tmp)
    for it in items:
        for field, bucket, size_field, kind in DERIVATIVES:
            what = f"{label}: {it['photoId']} {field}"
            key = it[field]
            got = backend.get_object(bucket, key) if key else None
            ok = H.check(got is not None, f"{what}: {bucket}/{key} exists")
            if ok:
                body = got[0]
                ok = H.check(len(body) == it[size_field],
                             f"{what}: {len(body)} bytes, the item says {it[size_field]}")
                ok = H.check(whole(body, kind), f"{what}: a whole {kind}") and ok
                if ok:
                    path = os.path.join(d, f"{len(files)}.{kind}")
                    with open(path, "wb") as f:
                        f.write(body)
                    files.append((path, what, kind, field))
            bad += not ok
    for i in range(0, len(files), 200):
        chunk = files[i:i + 200]
        r = subprocess.run(["vipsheader"] + [p for p, _, _, _ in chunk], capture_output=True,
                           text=True)
        lines = {ln.split(":", 1)[0]: ln for ln in r.stdout.splitlines()}
        for path, what, kind, field in chunk:
            ln = lines.get(path, "")
            ok = H.check(f"{kind}load" in ln, f"{what}: vipsheader reads {ln or r.stderr[:200]!r}")
            if ok and field.startswith("thumbnail"):
                ok = H.check(" 200x200 " in ln, f"{what}: a 200x200 thumbnail: {ln!r}")
            bad += not ok
    shutil.rmtree(d, ignore_errors=True)
    return bad


def cpu_seconds(pid):
    """User + system CPU time a process has used so far, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wall_ms(iso):
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


# ---- one run -------------------------------------------------------------------------

def start_server(backend, data=None, port=None):
    srv = H.Server(backend, data=data, port=port, wrap=("taskset", "-c", CORES), **STACK_ENV)
    with open(f"/proc/{srv.proc.pid}/status") as f:
        pinned = [ln.split()[1] for ln in f if ln.startswith("Cpus_allowed_list:")]
    H.check(pinned == [CORES], f"the service runs on core {CORES} only: {pinned}")
    return srv


def bulk_run(args, name, backend_factory, photos, tmp, kill):
    print(f"== {name}: {len(photos)} photos at {args.rate}/s on the {args.backend} backend, "
          f"one core{', SIGKILL half-way' if kill else ''}", flush=True)
    srv = start_server(backend_factory())
    backend = srv.backend
    servers = [srv]
    prefix = f"{name}/"
    objects = []
    for key, data, _ in photos:
        srv.put_original(prefix + key, data)
        objects.append(S3Object(prefix + key, len(data), hashlib.md5(data).hexdigest()))
    good = {prefix + k for k, _, g in photos if g}
    corrupt = {prefix + k for k, _, g in photos if not g}
    events = [s3_object_created("originals", o) for o in objects]
    dlq = os.path.join(tmp, f"{name}-dlq.jsonl")
    policy = RetryPolicy(max_event_age_s=args.max_event_age)
    dest = ApiDestination(HttpTransport(f"http://127.0.0.1:{srv.port}/process",
                                        {"x-api-key": KEY}), args.rate, policy)
    delivered = collections.Counter()
    half = threading.Event()

    def on_done(e):
        if e["outcome"] == "delivered" and e["key"] in good:
            delivered["good"] += 1
            if delivered["good"] >= len(good) // 2:
                half.set()

    result = {}

    def deliver():
        try:
            result["report"] = dest.deliver(events, arrival_rate_per_s=args.rate,
                                            dlq_path=dlq, on_done=on_done)
        except BaseException as e:  # noqa: B902 (reported below)
            result["error"] = e
            half.set()

    wall0 = time.time()
    th = threading.Thread(target=deliver)
    th.start()
    killed_at = None
    cpu_before_kill = 0.0
    if kill:
        half.wait()
        if "error" not in result:
            killed_at = time.time() - wall0
            cpu_before_kill = cpu_seconds(srv.proc.pid)
            srv.proc.send_signal(signal.SIGKILL)
            srv.proc.wait()
            srv.log.close()
            print(f"SIGKILL at {killed_at:.1f} s, {delivered['good']} good photos delivered; "
                  f"restarting on the same port and store", flush=True)
            time.sleep(1)
            srv = start_server(backend, data=srv.data, port=srv.port)
            servers.append(srv)
    th.join()
    dest.close()
    if "error" in result:
        raise result["error"]
    rep = result["report"]
    s = rep["summary"]

    # Delivery: every good event 200, every corrupt one dead-lettered with 422, nothing else.
    by_key = {e["key"]: e for e in rep["events"]}
    not_ok = [(k, by_key[k]["outcome"], by_key[k].get("status")) for k in sorted(good)
              if by_key[k]["outcome"] != "delivered" or by_key[k].get("status") != 200]
    H.check(not not_ok, f"{name}: good events not delivered with 200: {not_ok[:10]}")
    with open(dlq) as f:
        dead = [json.loads(ln) for ln in f if ln.strip()]
    dead_keys = collections.Counter(d["key"] for d in dead)
    H.check(set(dead_keys) == corrupt and all(c == 1 for c in dead_keys.values()),
            f"{name}: dead letters are the corrupt photos, once each: {dict(dead_keys)}")
    H.check(all(d["status"] == 422 and d["attributes"]["ERROR_CODE"] == "422" for d in dead),
            f"{name}: dead letters carry 422: {[(d['key'], d['status']) for d in dead]}")

    # The table: every good photo completed exactly once, every corrupt one failed.
    # This run's items (on the stand-ins, the runs share one table: each has its prefix).
    items = {it["photoId"]: it for it in all_items(backend) if it["photoId"].startswith(prefix)}
    processed = collections.Counter()
    for sv in servers:
        for ln in sv.log_lines():
            if ln.get("msg") == "photo processed":
                processed[ln.get("photoId")] += 1
    incomplete = [k for k in sorted(good) if (items.get(k) or {}).get("processingStatus")
                  != "completed"]
    H.check(not incomplete, f"{name}: {len(incomplete)} good photos not completed: "
            f"{[(k, (items.get(k) or {}).get('processingStatus')) for k in incomplete[:10]]}")
    # A SIGKILL can land after the table's completion and before the "photo processed"
    # line (the item is read back in between): that photo's retry is a duplicate, and
    # the killed server never said it. So with a kill, a completed photo may have no line.
    twice = {k: processed[k] for k in good
             if processed[k] > 1 or (processed[k] == 0 and not kill)}
    H.check(not twice, f"{name}: good photos completed other than once: "
            f"{dict(list(twice.items())[:10])}")
    unsaid = sorted(k for k in good if processed[k] == 0)
    if kill and unsaid:
        print(f"{name}: completed by the killed server without its log line: {unsaid}")
    for k in sorted(corrupt):
        it = items.get(k) or {}
        H.check(it.get("processingStatus") == "failed" and it.get("processingError"),
                f"{name}: {k} failed with a reason: {dict(it)}")
    extra = sorted(set(items) - good - corrupt)
    H.check(not extra, f"{name}: items nobody uploaded: {extra[:10]}")
    # No item completed without its four derivatives whole and readable.
    done_items = [it for it in items.values() if it["processingStatus"] == "completed"]
    bad = check_derivatives(backend, done_items, tmp, name)

    cpu = cpu_before_kill + cpu_seconds(srv.proc.pid)
    completed_at = [wall_ms(it["processedAt"]) for it in done_items if it["processedAt"]]
    first_event = wall0 + (s["first_call_at"] or 0)
    span = (max(completed_at) - first_event) if completed_at else float("nan")
    per_min_core = len(good) / span * 60 if completed_at else 0.0
    figures = {
        "run": name, "backend": args.backend, "photos": len(photos), "good": len(good),
        "corrupt": len(corrupt), "completed": len(done_items), "derivatives_bad": bad,
        "first_event_to_last_completed_s": round(span, 1),
        "photos_per_minute_per_core": round(per_min_core, 1),
        "service_cpu_s": round(cpu, 1),
        "photos_per_cpu_minute": round(len(good) / cpu * 60, 1) if cpu else None,
        "retries_sent": s["retries_sent"], "calls": s["calls"],
        "calls_by_status": s["calls_by_status"], "dead_lettered": s["dead_lettered"],
        "call_seconds_p50": s["call_seconds_p50"], "call_seconds_p99": s["call_seconds_p99"],
        "last_delivery_s": s["last_done_at"], "killed_at_s": killed_at,
        "pipeline_runs": sum(sum(H.pipeline_runs(sv).values()) for sv in servers),
        "load_average": os.getloadavg(),
    }
    print(f"{name}: {len(good)} good photos completed in {span:.1f} s from the first event to "
          f"the last completed (its thumbnails written): {per_min_core:.1f} photos per minute "
          f"per core (the service used {cpu:.1f} s of CPU: {figures['photos_per_cpu_minute']} "
          f"photos per CPU-minute); {s['calls']} calls, {s['retries_sent']} retries sent, by status "
          f"{json.dumps(s['calls_by_status'])}; last event settled at {s['last_done_at']:.1f} s; "
          f"{figures['pipeline_runs']} pipeline runs; load average "
          f"{' '.join(f'{x:.2f}' for x in figures['load_average'])}", flush=True)
    for sv in servers[:-1]:
        sv.log.close() if not sv.log.closed else None
    rc = srv.stop()
    H.check(rc == 0, f"{name}: server exits 0 on SIGTERM: {rc}")
    for sv in servers:
        sv.cleanup()
    return figures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", choices=["local", "aws"], default="local")
    ap.add_argument("--photos", type=int, default=int(os.environ.get("ENL_BULK_PHOTOS", "300")))
    ap.add_argument("--corrupt", type=int, default=5)
    ap.add_argument("--rate", type=float, default=10.0, help="events (and calls) per second")
    ap.add_argument("--runs", default="plain,kill", help="plain, kill or both")
    ap.add_argument("--max-event-age", type=float, default=900.0,
                    help="MaximumEventAgeInSeconds: bounds the test's time (EventBridge: 86400)")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()
    H.need_tools("vips", "vipsheader", "taskset")

    tmp = tempfile.mkdtemp(prefix="enl-bulk-")
    st = None
    try:
        if args.backend == "aws":
            st = H.standins_or_skip()
            st.__enter__()
            factory = lambda: H.AwsBackend(st)  # noqa: E731
        else:
            factory = lambda: None  # noqa: E731 (a fresh local store per server)
        photos = photo_set(args.photos, args.corrupt, tmp)
        figures = [bulk_run(args, run, factory, photos, tmp, run == "kill")
                   for run in args.runs.split(",")]
        if args.json:
            with open(args.json, "w") as f:
                json.dump(figures, f, indent=1)
    finally:
        if st is not None:
            st.__exit__(None, None, None)
        shutil.rmtree(tmp, ignore_errors=True)
    H.done()


if __name__ == "__main__":
    main()
