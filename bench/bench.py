#!/usr/bin/env python3
"""enlarger side by side with its peers, in one run on one machine. Driven by bench/run.sh.

Starts enlarger (`enlarger serve`), the sharp server (bench/sharp-server.js) and nginx, each on
its own loopback port over the same originals folder, runs the cases of issues 6 and 16 (misses
on originals and on processed photos, which render from their mezzanine), prints a table of
medians (min, max), ratios and peak RSS, then the mezzanine quality table
(bench/mezzanine_quality.py), and writes it all to docs/benchmarks.md.
Python standard library only. Stops exactly the processes it started.
"""

import argparse
import datetime
import hashlib
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")


def env_int(name, full, quick):
    v = os.environ.get(name)
    return int(v) if v else (quick if QUICK else full)


# Durations and counts: the full run stays under 15 minutes on 2 cores.
WRK_MISS_S = env_int("BENCH_WRK_SECONDS", 20, 3)  # issue 6: wrk -t2 -c8 -d20s
# The c8 miss on processed photos (issue 16). Every request needs a key processed beforehand
# (a whole /process of the 12 MP JPEG each), so this case is shorter than the one above and its
# key pool is sized to it: seconds x BENCH_PROCESSED_RATE req/s (above 2x sharp's ~40 req/s).
WRK_PROC_S = env_int("BENCH_WRK_PROCESSED_SECONDS", 10, 3)
PROCESSED_RATE = env_int("BENCH_PROCESSED_RATE", 120, 120)
WRK_HIT_S = env_int("BENCH_WRK_HIT_SECONDS", 10, 3)
N_SINGLE = env_int("BENCH_N_SINGLE", 15, 4)
N_PROCESS = env_int("BENCH_N_PROCESS", 9, 3)
N_CONC = env_int("BENCH_N_CONCURRENT", 100, 100)
N_VT = env_int("BENCH_N_VIPSTHUMBNAIL", 10, 3)
MISS_KEYS_PER_THREAD = env_int("BENCH_MISS_KEYS", 4000, 1000)
# Keys per wrk thread that enlarger is told about before the c8 case (see announce()):
# 20 s at up to 60 req/s per thread. Requests past them still work, on unknown originals.
KNOWN_KEYS_PER_THREAD = env_int("BENCH_KNOWN_KEYS", 1200, 300)
WRK_THREADS, WRK_CONNS = 2, 8
PROC_KEYS_PER_THREAD = -(-WRK_PROC_S * PROCESSED_RATE // WRK_THREADS)
PROCESS_WORKERS = 6  # concurrent POST /process while processing the key pools (ENLARGER_JOBS is 3)

# The three images the cases name, as file names in --corpus; another corpus can name its own
# (BENCH_IMG_24: the large JPEG of the single-miss and /process cases, BENCH_IMG_12: the JPEG
# of the c8 and hit cases, BENCH_IMG_PNG: an RGBA PNG).
IMG_24 = os.environ.get("BENCH_IMG_24") or "landscape-24mp.jpg"
IMG_12 = os.environ.get("BENCH_IMG_12") or "phone-12mp-orient6.jpg"
IMG_PNG = os.environ.get("BENCH_IMG_PNG") or "cutout-rgba-3000x2000.png"


def log(*a):
    print("[bench]", *a, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, method, path, body=None, headers=None, timeout=120):
    """Returns (status, headers lower-cased, body bytes, seconds) or raises OSError."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        t0 = time.perf_counter()
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        dt = time.perf_counter() - t0
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data, dt
    except http.client.HTTPException as e:
        raise OSError("HTTP: %s: %s" % (type(e).__name__, e)) from e
    finally:
        c.close()


RENDER_SOURCE_METRIC = "enlarger_render_source_total"


def render_sources(port):
    """{source: count} of enlarger's render-source counter from /metrics (mezzanine, original),
    or None when it has none (a build without the mezzanine)."""
    try:
        st, _, body, _ = request(port, "GET", "/metrics")
    except OSError:
        return None
    if st != 200:
        return None
    got = {m.group(1): int(float(m.group(2))) for m in re.finditer(
        r'^%s\{source="(\w+)"\}\s+(\S+)' % RENDER_SOURCE_METRIC, body.decode(errors="replace"), re.M)}
    return got or None


def sources_delta(before, after):
    """{source: renders counted between two render_sources() reads}, or None."""
    if before is None or after is None:
        return None
    return {k: after.get(k, 0) - before.get(k, 0) for k in sorted(set(before) | set(after))}


def render_path(key, w=400, fmt="webp"):
    return "/render/%s?w=%d&fmt=%s" % (urllib.parse.quote(key), w, fmt)


def process_body(key):
    return json.dumps({"bucket": "originals", "key": key}).encode()


# ---------------------------------------------------------------- processes and memory


def proc_status(pid, field):
    """A /proc/<pid>/status field in KiB, or None."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def children(pid):
    out = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


class Server:
    def __init__(self, name, argv, env, logdir, port, ready_path):
        self.name, self.argv, self.port, self.ready_path = name, argv, port, ready_path
        self.env = dict(os.environ, **env)
        self.logpath = os.path.join(logdir, name + ".log")
        self.proc = None
        self.pids = []
        self.hwm_seen = 0  # the largest VmHWM read before any reset

    def start(self):
        self.logf = open(self.logpath, "wb")
        self.proc = subprocess.Popen(self.argv, env=self.env, stdout=self.logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %s at start; log %s:\n%s" % (
                    self.name, self.proc.returncode, self.logpath, self.log_tail()))
            try:
                st, _, _, _ = request(self.port, "GET", self.ready_path, timeout=2)
                if st < 500:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("%s not answering on port %d after 30 s; log %s" % (self.name, self.port, self.logpath))
        time.sleep(0.3)  # nginx forks its workers after binding
        self.pids = [self.proc.pid] + children(self.proc.pid)
        log("%s: pid %s, port %d" % (self.name, self.pids, self.port))

    def log_tail(self, n=2000):
        try:
            with open(self.logpath, "rb") as f:
                return f.read()[-n:].decode(errors="replace")
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def rss_kib(self):
        return sum(proc_status(p, "VmRSS") or 0 for p in self.pids)

    def hwm_kib(self):
        return sum(proc_status(p, "VmHWM") or 0 for p in self.pids)

    def reset_hwm(self):
        """Resets the peak RSS to the current RSS (Linux clear_refs 5). False if not allowed."""
        self.hwm_seen = max(self.hwm_seen, self.hwm_kib())
        ok = True
        for p in self.pids:
            try:
                with open("/proc/%d/clear_refs" % p, "w") as f:
                    f.write("5")
            except OSError:
                ok = False
        return ok

    def hwm_total_kib(self):
        """Peak RSS over the server's whole life, resets included."""
        return max(self.hwm_seen, self.hwm_kib())

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()


class RssSampler(threading.Thread):
    """Polls VmRSS of every server at 10 Hz and keeps the maximum per phase."""

    def __init__(self, servers):
        super().__init__(daemon=True)
        self.servers = servers
        self.phase = None
        self.peaks = {}
        self.stop_ev = threading.Event()

    def run(self):
        while not self.stop_ev.wait(0.1):
            ph = self.phase
            if ph is None:
                continue
            for s in self.servers:
                if s.alive():
                    k = (ph, s.name)
                    self.peaks[k] = max(self.peaks.get(k, 0), s.rss_kib())


# ---------------------------------------------------------------- measurements


def stats(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


class Target:
    """A name for one series of requests to a server's port (e.g. enlarger on processed keys)."""

    def __init__(self, name, port):
        self.name, self.port = name, port


def single_requests(servers, method, path_fn, body_fn, n, tag):
    """n sequential requests per server (or Target), interleaved (a, b, a, b, ...) so drift hits
    all alike; path_fn(server, i) and body_fn(server, i) give request i to that server.
    Returns {server: {"ms": [...], "errors": [...], "first": body bytes}}."""
    out = {s.name: {"ms": [], "errors": [], "first": None} for s in servers}
    for i in range(n):
        for s in servers:
            r = out[s.name]
            try:
                st, hd, data, dt = request(s.port, method, path_fn(s, i), body_fn(s, i) if body_fn else None,
                                           {"Content-Type": "application/json"} if body_fn else None)
            except OSError as e:
                r["errors"].append(str(e))
                continue
            if st != 200:
                r["errors"].append("%d %s" % (st, data[:200].decode(errors="replace")))
                continue
            r["ms"].append(dt * 1000)
            if r["first"] is None:
                r["first"] = data
    for s in servers:
        r = out[s.name]
        log("%s %s: %s ms, errors %d %s" % (tag, s.name, fmt_stats(stats(r["ms"])), len(r["errors"]),
                                            r["errors"][:1]))
    return out


def in_threads(worker, n):
    """Runs worker() in n threads at once; returns the seconds until the last one ended."""
    t0 = time.perf_counter()
    ts = [threading.Thread(target=worker) for _ in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return time.perf_counter() - t0


def announce(port, keys, workers=2):
    """Makes enlarger's store know the originals behind keys, as it knows any photo that came
    through /process or the folder watcher: one conditional GET each (If-None-Match: *), which
    HEADs the original and answers 304 without rendering. The local store's first HEAD of a
    file dropped in by hand reads it whole for its MD5 ETag (what S3 reports; 1.7 ms per MB)
    and keeps it in a sidecar; with S3 the ETag comes with the HEAD. The render-miss cases
    measure rendering, so that one-time cost is paid here, outside them, and is reported as
    its own line. Returns (seconds, failures)."""
    todo = list(keys)
    lock = threading.Lock()
    bad = []

    def worker():
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                if not todo:
                    break
                k = todo.pop()
            try:
                c.request("GET", render_path(k), headers={"If-None-Match": "*"})
                r = c.getresponse()
                r.read()
                if r.status != 304:
                    bad.append("%s: %d" % (k, r.status))
            except (OSError, http.client.HTTPException) as e:
                bad.append("%s: %s" % (k, e))
                c.close()
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        c.close()

    return in_threads(worker, workers), bad


def process_pool(port, keys, workers=PROCESS_WORKERS, deadline_s=900):
    """POST /process for every key, `workers` at a time on keep-alive connections, as a gallery
    processes its uploads before anyone views them. A 429 or 503 with Retry-After is retried
    after that many seconds. Returns {"n", "ok", "s", "failed": first failures}."""
    todo = list(reversed(keys))
    lock = threading.Lock()
    bad = []
    t_end = time.time() + deadline_s

    def worker():
        c = None
        while True:
            with lock:
                if not todo:
                    break
                k = todo.pop()
            while time.time() < t_end:
                try:
                    c = c or http.client.HTTPConnection("127.0.0.1", port, timeout=300)
                    c.request("POST", "/process", process_body(k), {"Content-Type": "application/json"})
                    r = c.getresponse()
                    body = r.read()
                except (OSError, http.client.HTTPException) as e:
                    if c:
                        c.close()
                    c = None
                    bad.append("%s: %s" % (k, e))
                    break
                if r.status in (429, 503) and r.getheader("Retry-After"):
                    time.sleep(float(r.getheader("Retry-After")))
                    continue
                if r.status != 200:
                    bad.append("%s: %d %s" % (k, r.status, body[:200].decode(errors="replace")))
                break
            else:
                bad.append("%s: still busy after %d s" % (k, deadline_s))
        if c:
            c.close()

    secs = in_threads(worker, workers)
    return {"n": len(keys), "ok": len(keys) - len(bad), "s": secs, "failed": bad[:3]}


def run_wrk(url, seconds, env_extra, script):
    argv = ["wrk", "-t%d" % WRK_THREADS, "-c%d" % WRK_CONNS, "-d%ds" % seconds, "--timeout", "10s",
            "-s", script, url]
    p = subprocess.run(argv, env=dict(os.environ, **env_extra), capture_output=True, text=True)
    m = re.search(r"^BENCH_JSON (\{.*\})$", p.stdout, re.M)
    if p.returncode != 0 or not m:
        return {"error": "wrk failed (%d): %s %s" % (p.returncode, p.stdout[-500:], p.stderr[-500:])}
    r = json.loads(m.group(1))
    # Throughput counts good answers only: a server shedding load with fast 503s must not
    # look faster for it. The errors are shown next to it.
    r["rps"] = (r["requests"] - r["err_status"]) / (r["duration_us"] / 1e6)
    r["errors"] = r["err_connect"] + r["err_read"] + r["err_write"] + r["err_status"] + r["err_timeout"]
    r["argv"] = " ".join(argv)
    return r


def concurrent_process(port, keys, deadline_s=180):
    """POSTs /process for every key at once (one thread each). A 429 (no job slot in time) or 503
    with Retry-After is retried after that many seconds (as EventBridge does); anything else is
    final."""
    n = len(keys)
    res = [None] * n
    barrier = threading.Barrier(n + 1)
    t_end = time.time() + deadline_s

    def worker(i):
        r = {"attempts": [], "ok": False, "ra_missing": 0}
        barrier.wait()
        t0 = time.perf_counter()
        while True:
            try:
                st, hd, data, _ = request(port, "POST", "/process", process_body(keys[i]),
                                          {"Content-Type": "application/json"}, timeout=deadline_s)
            except OSError as e:
                r["attempts"].append("conn:" + type(e).__name__)
                break
            r["attempts"].append(str(st))
            if st == 200:
                r["ok"] = True
                break
            if st in (429, 503):
                ra = hd.get("retry-after")
                if ra is None:
                    r["ra_missing"] += 1
                    break
                try:
                    wait = max(0.0, float(ra))
                except ValueError:
                    wait = 1.0
                if time.time() + wait > t_end:
                    break
                time.sleep(wait)
                continue
            r["detail"] = data[:200].decode(errors="replace")
            break
        r["seconds"] = time.perf_counter() - t0
        r["done"] = time.perf_counter()
        res[i] = r

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    ok = [r for r in res if r["ok"]]
    wall = (max(r["done"] for r in res) - t0) if res else 0
    breakdown = {}
    for r in res:
        for a in r["attempts"]:
            breakdown[a] = breakdown.get(a, 0) + 1
    return {
        "n": n,
        "ok": len(ok),
        "wall_s": wall,
        "photos_per_s": len(ok) / wall if wall > 0 else 0,
        "attempts": breakdown,  # every response (or connection error) seen, retries included
        "first_503": sum(1 for r in res if r["attempts"] and r["attempts"][0] in ("429", "503")),
        "retries": sum(len(r["attempts"]) - 1 for r in res),
        "ra_missing": sum(r["ra_missing"] for r in res),
        "failed": [(keys[i], r["attempts"][-1:], r.get("detail", "")) for i, r in enumerate(res) if not r["ok"]][:5],
        "latency_ms": stats([r["seconds"] * 1000 for r in ok]),
    }


def time_processes(argv, n):
    """Wall time and peak RSS of n runs of a command (os.wait4 gives each child's own rusage)."""
    ms, rss = [], []
    for _ in range(n):
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, ru = os.wait4(p.pid, 0)
        dt = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode != 0:
            return {"error": "%s exited %d: %s" % (argv[0], p.returncode, p.stderr.read()[-300:])}
        p.stderr.close()
        ms.append(dt * 1000)
        rss.append(ru.ru_maxrss)
    return {"ms": stats(ms), "rss_kib": max(rss)}


# ---------------------------------------------------------------- formatting


def fmt_stats(s, unit="", prec=1):
    if not s:
        return "n/a"
    f = "%%.%df" % prec
    return (f + "%s (" + f + ", " + f + ")") % (s["median"], unit, s["min"], s["max"])


def mib(kib):
    return "%.0f MiB" % (kib / 1024) if kib else "n/a"


def ratio(a, b, prec=2):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(r):
    return "n/a" if r is None else "%.2fx" % r


def verdict(r, op, target):
    if r is None:
        return "n/a"
    ok = r >= target if op == ">=" else r <= target
    t = "%.1f" % target if round(target, 1) == target else "%.2f" % target
    return ("yes" if ok else "**no**") + " (%s %sx)" % (op, t)


# ---------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--enlarger", help="the Release binary")
    ap.add_argument("--corpus", help="folder of originals (jpg/png)")
    ap.add_argument("--photos", default="", help="optional folder of real camera JPEGs")
    ap.add_argument("--work", help="scratch folder (wiped)")
    ap.add_argument("--ssim", help="bench-ssim binary")
    ap.add_argument("--out", required=True, help="markdown report to write")
    ap.add_argument("--command", default="bench/run.sh")
    ap.add_argument("--from-results", metavar="JSON",
                    help="only rewrite the report from a run's results.json (e.g. build/bench-run/results.json)")
    a = ap.parse_args()
    if a.from_results:
        with open(a.from_results) as f:
            R = json.load(f)
        globals().update(R["params"])
        write_report(R, a.out)
        return
    for name in ("enlarger", "corpus", "work", "ssim"):
        if not getattr(a, name):
            ap.error("--%s is required" % name)

    here = os.path.dirname(os.path.abspath(__file__))
    t_start = time.time()
    load_start = os.getloadavg()
    work = os.path.abspath(a.work)
    if os.path.isdir(work):
        shutil.rmtree(work)
    data = os.path.join(work, "data")
    orig = os.path.join(data, "originals")
    logs = os.path.join(work, "logs")
    for d in (orig, logs):
        os.makedirs(d)

    # Originals: a copy of the corpus, then hard links of it, so that every request of a
    # "miss" case has its own key (and so its own cache entry) over the very same bytes.
    corpus = sorted(f for f in os.listdir(a.corpus) if f.lower().endswith((".jpg", ".jpeg", ".png")))
    for f in (IMG_24, IMG_12, IMG_PNG):
        if f not in corpus:
            sys.exit("bench: %s is missing from %s" % (f, a.corpus))
    for f in corpus:
        shutil.copyfile(os.path.join(a.corpus, f), os.path.join(orig, f))
    photos = []
    if a.photos and os.path.isdir(a.photos):
        for f in sorted(os.listdir(a.photos)):
            if f.lower().endswith((".jpg", ".jpeg")):
                shutil.copyfile(os.path.join(a.photos, f), os.path.join(orig, "photo-" + f))
                photos.append("photo-" + f)

    def link(src, key):
        os.link(os.path.join(orig, src), os.path.join(orig, key))
        return key

    for t in range(WRK_THREADS):
        for i in range(MISS_KEYS_PER_THREAD):
            link(IMG_12, "m12-%d-%05d.jpg" % (t, i))
    singles = {img: [link(img, "s-%d-%s" % (i, img)) for i in range(N_SINGLE + 2)] for img in (IMG_24, IMG_12, IMG_PNG)}
    # Keys that are processed (POST /process) before their misses, as a gallery's photos are:
    # the c8 pool of the 12 MP JPEG and the sequential 24 MP ones (2 of them for warm-up).
    for t in range(WRK_THREADS):
        for i in range(PROC_KEYS_PER_THREAD):
            link(IMG_12, "pm12-%d-%05d.jpg" % (t, i))
    pm12_keys = ["pm12-%d-%05d.jpg" % (t, i) for t in range(WRK_THREADS) for i in range(PROC_KEYS_PER_THREAD)]
    ps24_keys = [link(IMG_24, "ps-%d-%s" % (i, IMG_24)) for i in range(N_SINGLE + 2)]
    proc_keys = [link(IMG_24, "p-%d-%s" % (i, IMG_24)) for i in range(N_PROCESS + 1)]
    # The second enlarger, without the mezzanine, for /process with and without it: its own
    # data dir (its own photo table), with the same originals.
    data_nm = os.path.join(work, "data-nomezz")
    os.makedirs(os.path.join(data_nm, "originals"))
    for k in proc_keys:
        os.link(os.path.join(orig, k), os.path.join(data_nm, "originals", k))
    conc_set = corpus + photos
    R_conc_set = conc_set
    conc_keys = [link(conc_set[i % len(conc_set)], "c-%03d-%s" % (i, conc_set[i % len(conc_set)])) for i in range(N_CONC)]
    hit_key = link(IMG_12, "hit-%s" % IMG_12)
    warm = [link(IMG_24, "w-%d-%s" % (i, IMG_24)) for i in range(3)]
    qual_keys = {f: link(f, "q-" + f) for f in corpus}

    # Servers
    pe, ps, pn = free_port(), free_port(), free_port()
    # No folder watcher: the originals folder holds thousands of hard links made for the
    # miss cases, which the watcher would otherwise process in the background.
    # w=400 is sharp's contract here; enlarger's default width list has no 400.
    enl_env = {"ENLARGER_LISTEN": "127.0.0.1:%d" % pe, "ENLARGER_DATA_DIR": data, "ENLARGER_WATCH": "0",
               "ENLARGER_RENDER_WIDTHS": "400"}
    for k, v in os.environ.items():  # pass through any ENLARGER_* the caller set (e.g. ENLARGER_JOBS)
        if k.startswith("ENLARGER_") and k not in enl_env:
            enl_env[k] = v
    enlarger = Server("enlarger", [a.enlarger, "serve"], enl_env, logs, pe, "/healthz")
    enl_proc = Target("enlarger-processed", pe)  # enlarger, on keys processed beforehand
    pnm = free_port()
    nomezz = Server("enlarger-nomezz", [a.enlarger, "serve"],
                    dict(enl_env, ENLARGER_LISTEN="127.0.0.1:%d" % pnm, ENLARGER_DATA_DIR=data_nm,
                         ENLARGER_MEZZANINE="0"), logs, pnm, "/healthz")
    sharp_out = os.path.join(work, "sharp-out")
    # BENCH_SHARP_SERVER: another sharp server with the same contract (GET /render/<key>?w=&fmt=,
    # POST /process {"bucket","key"}, GET /healthz; SHARP_LISTEN, SHARP_DATA_DIR, SHARP_OUT_DIR).
    sharp_js = os.environ.get("BENCH_SHARP_SERVER") or os.path.join(here, "sharp-server.js")
    sharp = Server("sharp", ["node", os.path.abspath(sharp_js)],
                   {"SHARP_LISTEN": "127.0.0.1:%d" % ps, "SHARP_DATA_DIR": data, "SHARP_OUT_DIR": sharp_out},
                   logs, ps, "/healthz")
    ngx_dir = os.path.join(work, "nginx")
    www = os.path.join(ngx_dir, "www")
    os.makedirs(os.path.join(www, "render"))
    os.makedirs(os.path.join(ngx_dir, "tmp"))
    conf = os.path.join(ngx_dir, "nginx.conf")
    with open(conf, "w") as f:
        f.write("""daemon off;
master_process on;
worker_processes auto;
%(user)s
pid %(d)s/nginx.pid;
error_log %(d)s/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path %(d)s/tmp/body;
    proxy_temp_path %(d)s/tmp/proxy;
    fastcgi_temp_path %(d)s/tmp/fastcgi;
    uwsgi_temp_path %(d)s/tmp/uwsgi;
    scgi_temp_path %(d)s/tmp/scgi;
    types { }
    default_type image/webp;
    server {
        listen 127.0.0.1:%(port)d;
        root %(www)s;
        location / { }
    }
}
""" % {"d": ngx_dir, "www": www, "port": pn, "user": "user root;" if os.geteuid() == 0 else ""})
    nginx = Server("nginx", ["nginx", "-p", ngx_dir, "-c", conf, "-e", os.path.join(ngx_dir, "error.log")],
                   {}, logs, pn, "/")

    servers = [enlarger, sharp, nginx]
    sampler = RssSampler(servers)
    R = {"quick": QUICK, "conc_set": R_conc_set}
    try:
        for s in servers:
            s.start()
        sampler.start()
        peers = [enlarger, sharp]

        # Warm-up (not measured): first decodes, page cache, JIT.
        sampler.phase = "warmup"
        single_requests(peers, "GET", lambda s, i: render_path(warm[i]), None, 3, "warm-up")
        known = ["m12-%d-%05d.jpg" % (t, i) for t in range(WRK_THREADS)
                 for i in range(min(KNOWN_KEYS_PER_THREAD, MISS_KEYS_PER_THREAD))]
        known += [k for img in (IMG_24, IMG_12, IMG_PNG) for k in singles[img]]
        secs, bad = announce(pe, known)
        R["announce"] = {"keys": len(known), "s": secs, "failed": len(bad), "first_failures": bad[:3]}
        log("announced %d originals to enlarger in %.1f s, %d failed %s" % (len(known), secs, len(bad), bad[:3]))

        # The bench processes its originals first, as the gallery does (issue 16).
        sampler.phase = "processing"
        R["processing"] = process_pool(pe, pm12_keys + ps24_keys)
        R["processing"].update({"n12": len(pm12_keys), "n24": len(ps24_keys)})
        log("processed %d keys (%d x %s, %d x %s) in %.1f s, %d failed %s" % (
            R["processing"]["n"], len(pm12_keys), IMG_12, len(ps24_keys), IMG_24, R["processing"]["s"],
            R["processing"]["n"] - R["processing"]["ok"], R["processing"]["failed"]))
        single_requests([enl_proc], "GET", lambda s, i: render_path(ps24_keys[N_SINGLE + i]), None, 2,
                        "warm-up processed")

        # 1. Single /render misses, sequential, one new key per request; the 24 MP one also on
        # processed keys (from the mezzanine), interleaved with the other two.
        sampler.phase = "single"
        R["single"], R["single_sources"] = {}, {}
        for img in (IMG_24, IMG_12, IMG_PNG):
            keys = singles[img]
            targets = [enlarger, enl_proc, sharp] if img == IMG_24 else peers
            before = render_sources(pe)
            R["single"][img] = single_requests(
                targets, "GET", lambda s, i, k=keys: render_path(ps24_keys[i] if s is enl_proc else k[i]), None,
                N_SINGLE, "single miss " + img)
            R.setdefault("single_sources", {})[img] = sources_delta(before, render_sources(pe))
            log("single miss %s: render sources %s" % (img, R["single_sources"][img]))

        # 2. /render misses under wrk -t2 -c8, 12 MP JPEG -> 400 px WebP, on originals and (enlarger)
        # on processed photos; peak RSS of each.
        R["c8"] = {}
        for s, srv, prefix, count, secs in ((enlarger, enlarger, "m12", MISS_KEYS_PER_THREAD, WRK_MISS_S),
                                            (sharp, sharp, "m12", MISS_KEYS_PER_THREAD, WRK_MISS_S),
                                            (enl_proc, enlarger, "pm12", PROC_KEYS_PER_THREAD, WRK_PROC_S)):
            sampler.phase = "c8-" + s.name
            reset_ok = srv.reset_hwm()
            before = render_sources(pe) if srv is enlarger else None
            r = run_wrk("http://127.0.0.1:%d/" % s.port, secs,
                        {"BENCH_MISS_PREFIX": prefix, "BENCH_MISS_COUNT": str(count),
                         "BENCH_MISS_QUERY": "?w=400&fmt=webp", "BENCH_MISS_SUFFIX": ".jpg"},
                        os.path.join(here, "wrk.lua"))
            time.sleep(0.3)
            r["hwm_kib"] = srv.hwm_kib() if reset_ok else None
            r["sampled_kib"] = sampler.peaks.get(("c8-" + s.name, srv.name))
            r["seconds"] = secs
            if srv is enlarger:
                r["sources"] = sources_delta(before, render_sources(pe))
            R["c8"][s.name] = r
            log("c8 miss %s: %s" % (s.name, {k: r.get(k) for k in ("rps", "lat_p99", "errors", "wrapped", "hwm_kib",
                                                                   "sampled_kib", "sources", "error")}))

        # 3. /render hit: enlarger's render cache vs nginx serving the same bytes.
        sampler.phase = "hit"
        R["hit"] = {}
        try:
            st1, _, b1, _ = request(pe, "GET", render_path(hit_key))
            st2, h2, b2, _ = request(pe, "GET", render_path(hit_key))
            R["hit"]["same_bytes"] = st1 == 200 and st2 == 200 and b1 == b2
            R["hit"]["bytes"] = len(b2)
            with open(os.path.join(www, "render", hit_key), "wb") as f:
                f.write(b2)
            st3, _, b3, _ = request(pn, "GET", render_path(hit_key))
            R["hit"]["nginx_same"] = st3 == 200 and b3 == b2
        except OSError as e:
            log("hit: could not prime the cache: %s" % e)
        for s in (enlarger, nginx):
            R["hit"][s.name] = run_wrk("http://127.0.0.1:%d%s" % (s.port, render_path(hit_key)), WRK_HIT_S, {},
                                       os.path.join(here, "wrk.lua"))
            log("hit %s: rps %s errors %s" % (s.name, R["hit"][s.name].get("rps"), R["hit"][s.name].get("errors")))

        # 4. /process of the 24 MP JPEG, sequential, vs sharp making the same four outputs, and
        # vs enlarger without the mezzanine (a second server, ENLARGER_MEZZANINE=0).
        sampler.phase = "process"
        nomezz.start()
        single_requests([nomezz], "POST", lambda s, i: "/process", lambda s, i: process_body(proc_keys[N_PROCESS]),
                        1, "warm-up process")
        R["process"] = single_requests([enlarger, nomezz, sharp], "POST", lambda s, i: "/process",
                                       lambda s, i: process_body(proc_keys[i]), N_PROCESS, "process " + IMG_24)
        R["process_mezzanines"] = {d: count_mezzanines(os.path.join(dd, "renders"), proc_keys[:N_PROCESS])
                                      for d, dd in (("with", data), ("without", data_nm))}
        R["nomezz_alive"] = nomezz.alive()
        nomezz.stop()

        # 5. N concurrent /process over the corpus.
        R["conc"] = {}
        for s in peers:
            sampler.phase = "conc-" + s.name
            reset_ok = s.reset_hwm()
            r = concurrent_process(s.port, conc_keys)
            r["hwm_kib"] = s.hwm_kib() if reset_ok else sampler.peaks.get(("conc-" + s.name, s.name))
            R["conc"][s.name] = r
            log("concurrent %s: ok %d/%d in %.1f s, %.2f photos/s, attempts %s" % (
                s.name, r["ok"], r["n"], r["wall_s"], r["photos_per_s"], r["attempts"]))
        sampler.phase = None

        # 6. vipsthumbnail, one process per image: the libvips floor.
        vt_out = os.path.join(work, "vipsthumbnail")
        os.makedirs(vt_out)
        R["vt"] = {}
        for img in (IMG_24, IMG_12):
            R["vt"][img] = time_processes(["vipsthumbnail", os.path.join(orig, img), "--size", "400x",
                                           "-o", os.path.join(vt_out, "%s.webp[Q=80]")], N_VT)
        R["vt"]["startup"] = time_processes(["vipsthumbnail", "--vips-version"], N_VT)
        log("vipsthumbnail:", R["vt"])

        # 7. Quality: file size and SSIM against a reference resize, for every output setting.
        R["quality"] = quality(a, corpus, qual_keys, orig, work, enlarger, sharp, sharp_out)

        R["rss_total"] = {s.name: s.hwm_total_kib() for s in servers}
        R["alive"] = {s.name: s.alive() for s in servers}
        R["alive"]["enlarger-nomezz"] = R.pop("nomezz_alive", False)
    finally:
        sampler.stop_ev.set()
        for s in servers + [nomezz]:
            s.stop()

    # 8. Renders from the mezzanine against renders from the original (its own enlarger, on the
    # default settings), after the timed cases.
    R["mezz_quality"] = mezzanine_quality_run(a, here, work)

    R["versions"] = versions(a.enlarger, sharp)
    R["enlarger_config"] = enlarger_config(enlarger.logpath)
    R["machine"] = machine()
    R["load"] = {"start": load_start, "end": os.getloadavg()}
    R["elapsed_s"] = time.time() - t_start
    R["command"] = a.command
    R["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    R["enl_env"] = {k: v for k, v in enl_env.items() if k not in ("ENLARGER_LISTEN", "ENLARGER_DATA_DIR")}
    R["params"] = {k: globals()[k] for k in ("WRK_MISS_S", "WRK_HIT_S", "N_SINGLE", "N_PROCESS", "N_CONC", "N_VT",
                                             "MISS_KEYS_PER_THREAD", "WRK_PROC_S", "PROC_KEYS_PER_THREAD")}
    for img in R.get("single", {}).values():  # response bodies are not results
        for r in img.values():
            r.pop("first", None)
    for r in R.get("process", {}).values():
        r.pop("first", None)
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump(R, f, indent=1)
    write_report(R, a.out)
    log("wrote %s (%.0f s)" % (a.out, R["elapsed_s"]))


def mezzanine_quality_run(a, here, work):
    """bench/mezzanine_quality.py over the photos and the corpus JPEGs; its results, or why not."""
    if os.environ.get("BENCH_MEZZ_QUALITY", "1") == "0":
        return {"skipped": "BENCH_MEZZ_QUALITY=0"}
    import mezzanine_quality as mq
    widths, side, share, _ = mq.defaults(os.path.join(os.path.dirname(here), "include", "enlarger", "defaults.h"))
    if not side:
        return {"skipped": "include/enlarger/defaults.h has no ENL_MEZZANINE_SIDE (a build without the mezzanine)"}
    images = mq.pick_images(a.photos, a.corpus, QUICK)
    R = mq.run(a.enlarger, a.ssim, images, os.path.join(work, "mezzanine-quality"), widths, side, share,
               QUICK)
    ok, n = mq.summary(R)
    log("mezzanine quality: %d of %d pass (%.0f s)" % (ok, n, R["elapsed_s"]))
    return R


def count_mezzanines(renders, keys):
    """How many of keys have a mezzanine.jpg in the local render bucket (<sha256(key)>/<version>/)."""
    n = 0
    for k in keys:
        d = os.path.join(renders, hashlib.sha256(k.encode()).hexdigest())
        n += any(os.path.exists(os.path.join(d, v, "mezzanine.jpg")) for v in (os.listdir(d) if os.path.isdir(d)
                                                                                 else []))
    return n


def write_report(R, out):
    md = report(R, R["command"], R["enl_env"])
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        f.write(md)
    print(md)


def quality(a, corpus, qual_keys, orig, work, enlarger, sharp, sharp_out):
    qdir = os.path.join(work, "quality")
    rows = []
    for img in corpus:
        src = os.path.join(orig, img)
        files = {}  # (server, setting) -> path
        for s in (enlarger, sharp):
            d = os.path.join(qdir, s.name, img)
            os.makedirs(d, exist_ok=True)
            for fmt, ext in (("webp", "webp"), ("jpeg", "jpg")):
                try:
                    st, _, body, _ = request(s.port, "GET", render_path(qual_keys[img], 400, fmt))
                except OSError:
                    continue
                if st == 200:
                    p = os.path.join(d, "render400.%s" % ext)
                    with open(p, "wb") as f:
                        f.write(body)
                    files[(s.name, "render 400 " + fmt)] = p
        # /process outputs. enlarger: its CLI (`enlarger process FILE --out DIR`, the same core
        # as POST /process); sharp: the /process endpoint of sharp-server.js.
        ed = os.path.join(qdir, "enlarger", img, "process")
        os.makedirs(ed, exist_ok=True)
        subprocess.run([a.enlarger, "process", src, "--out", ed], stdout=subprocess.DEVNULL,
                       stderr=open(os.path.join(work, "logs", "enlarger-process.log"), "ab"))
        try:
            request(sharp.port, "POST", "/process", process_body(qual_keys[img]), {"Content-Type": "application/json"})
        except OSError:
            pass
        for name, d in (("enlarger", ed), ("sharp", os.path.join(sharp_out, qual_keys[img]))):
            for root, _, fs in os.walk(d):
                for fn in fs:
                    if fn.lower().endswith((".webp", ".jpg", ".jpeg")):
                        files[(name, "process?" + fn)] = os.path.join(root, fn)
        paths = sorted(set(files.values()))
        if not paths:
            continue
        p = subprocess.run([a.ssim, src] + paths, capture_output=True, text=True)
        measured = {}
        for line in p.stdout.splitlines():
            path, w, h, mode, ssim, bg = line.split("\t")
            measured[path] = (int(w), int(h), mode, float(ssim), bg)
        for (server, setting), path in files.items():
            if path not in measured:
                continue
            w, h, mode, ssim, bg = measured[path]
            if setting.startswith("process?"):
                fmt = "webp" if path.lower().endswith(".webp") else "jpeg"
                setting = ("thumb 200x200 " if (w, h) == (200, 200) else "optimized <=1920x1080 ") + fmt
            rows.append({"image": img, "setting": setting, "server": server, "bytes": os.path.getsize(path),
                         "w": w, "h": h, "ssim": ssim, "bg": bg})
        if p.returncode != 0:
            log("bench-ssim %s: %s" % (img, p.stderr.strip()[-500:]))
    return rows


def cmd_out(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        return (p.stdout + p.stderr).strip().splitlines()[0] if (p.stdout + p.stderr).strip() else "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def versions(enlarger_bin, sharp):
    here = os.path.dirname(os.path.abspath(__file__))
    rev = cmd_out(["git", "-C", here, "rev-parse", "--short", "HEAD"])
    try:
        dirty = subprocess.run(["git", "-C", os.path.dirname(here), "status", "--porcelain", "--", "src", "include",
                                "CMakeLists.txt"], capture_output=True, text=True).stdout.strip() != ""
    except OSError:
        dirty = False
    v = {"enlarger": "%s (commit %s%s)" % (cmd_out([enlarger_bin, "--version"]), rev,
                                           ", with uncommitted changes in src/ or include/" if dirty else ""),
         "libvips, libwebp, libjpeg-turbo (Debian, used by enlarger and vipsthumbnail)": "%s, %s, %s" % (
             cmd_out(["vips", "--version"]), cmd_out(["dpkg-query", "-W", "-f=${Version}", "libwebp7"]),
             cmd_out(["dpkg-query", "-W", "-f=${Version}", "libjpeg62-turbo"])),
         "node": cmd_out(["node", "--version"]), "nginx": cmd_out(["nginx", "-v"]),
         "wrk": cmd_out(["wrk", "--version"]).split(" Copyright")[0]}
    try:
        with open(sharp.logpath) as f:
            j = json.loads(f.readline())
        v["sharp"] = ("%s (inside: libvips %s, libwebp %s, mozjpeg %s; concurrency %s, UV_THREADPOOL_SIZE %s, "
                      "cache %s MiB / %s files / %s ops)") % (
            j["sharp"], j["libvips"], j.get("libwebp"), j.get("mozjpeg"), j["concurrency"], j["uvThreadpool"],
            j["cache"]["memory"]["max"], j["cache"]["files"]["max"], j["cache"]["items"]["max"])
    except (OSError, ValueError, KeyError):
        v["sharp"] = "?"
    return v


def enlarger_config(logpath):
    """The settings enlarger logged at start-up (its "config" line), the ones that shape load."""
    keep = ("ENLARGER_JOBS", "ENLARGER_QUEUE_DEPTH", "ENLARGER_QUEUE_TIMEOUT_MS", "ENLARGER_HTTP_THREADS",
            "ENLARGER_MAX_CONNECTIONS", "ENLARGER_RETRY_AFTER", "ENLARGER_WATCH", "ENLARGER_WEBP_QUALITY",
            "ENLARGER_JPEG_QUALITY", "ENLARGER_LOG_LEVEL")
    try:
        with open(logpath) as f:
            for line in f:
                try:
                    j = json.loads(line)
                except ValueError:
                    continue
                if j.get("msg") == "config":
                    return ", ".join("%s=%s" % (k, json.dumps(j[k])) for k in keep if k in j)
    except OSError:
        pass
    return None


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = proc_meminfo()
    return {"nproc": len(os.sched_getaffinity(0)), "cpu": cpu, "kernel": platform.release(),
            "mem": "%.1f GiB" % (mem / 1024 / 1024) if mem else "?",
            "os": distro()}


def proc_meminfo():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1])
    except OSError:
        return None


def distro():
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "?"


def report(R, command, enl_env):
    e, s = "enlarger", "sharp"
    L = []
    w = L.append
    w("# Benchmarks: enlarger side by side with sharp, nginx and vipsthumbnail")
    w("")
    w("Written by `bench/run.sh` (bench/bench.py); do not edit by hand. Re-run it to refresh.")
    w("")
    if R["quick"]:
        w("**Quick run (BENCH_QUICK=1): short durations, for checking the harness only. Do not quote these numbers.**")
        w("")
    ls, le = R["load"]["start"], R["load"]["end"]
    if ls[0] > 0.5 * R["machine"]["nproc"] or le[1] > 1.5 * R["machine"]["nproc"]:
        w("**Warning: the machine was busy (load average %.2f at the start, %.2f over the last 5 minutes "
          "at the end, on %d cores); the numbers below are not comparable with a quiet run.**"
          % (ls[0], le[1], R["machine"]["nproc"]))
        w("")
    for name, ok in R.get("alive", {}).items():
        if not ok:
            w("**%s exited during the run: its figures below are partial; see its log in build/bench-run/logs/.**"
              % name)
            w("")
    m = R["machine"]
    w("- Date: %s" % R.get("date", "?"))
    w("- Machine: %d CPUs (%s), %s RAM, %s, Linux %s; load average at start %.2f %.2f %.2f"
      % (m["nproc"], m["cpu"], m["mem"], m["os"], m["kernel"], ls[0], ls[1], ls[2]))
    w("- Command: `%s` (took %.0f s)" % (command, R["elapsed_s"]))
    for k, v in R["versions"].items():
        w("- %s: %s" % (k, v))
    extra = " ".join("%s=%s" % (k, v) for k, v in sorted(enl_env.items()))
    w("- enlarger settings: defaults%s; local store (ENLARGER_DATA_DIR), every server on its own loopback port"
      % ((" plus " + extra) if extra else ""))
    if R.get("enlarger_config"):
        w("- enlarger as it logged them: %s" % R["enlarger_config"])
    w("")

    w("## Results")
    w("")
    w("Times are median (min, max) in ms over N requests; ratio = enlarger / peer; the targets are issue 6's "
      "and issue 16's. \"processed\": a photo that went through POST /process first (as a gallery's photos "
      "do), so a miss renders from its mezzanine; \"original\": a photo never processed, rendered from the "
      "original.")
    w("")
    w("| case | enlarger | peer | ratio | target met |")
    w("| --- | --- | --- | --- | --- |")

    def row(case, a, b, r, tgt):
        w("| %s | %s | %s | %s | %s |" % (case, a, b, fmt_ratio(r), tgt))

    def wrk_cell(x, fmt):
        if "rps" not in x:
            return x.get("error", "n/a")
        t = fmt % ((x["rps"], x["lat_p99"] / 1000) if fmt.count("%") == 2 else x["rps"])
        if x["errors"]:
            t += " (**%d errors**: %d non-2xx, %d timeouts, %d socket)" % (
                x["errors"], x["err_status"], x["err_timeout"], x["err_connect"] + x["err_read"] + x["err_write"])
        return t

    c8 = R.get("c8", {})
    cs = c8.get(s, {})
    pc = R.get("processing")
    if pc:
        row("processing before the processed-miss cases: %d x %s + %d x %s through POST /process, %d at a time"
            % (pc["n12"], IMG_12, pc["n24"], IMG_24, PROCESS_WORKERS),
            "%.1f s (%.1f photos/s), %d failed%s" % (pc["s"], pc["ok"] / max(pc["s"], 1e-9), pc["n"] - pc["ok"],
                                                     (" e.g. %s" % pc["failed"][:1]) if pc["failed"] else ""),
            "", None, "(no target)")
    for name, label, secs, t_rps, t_p99, want in (
            (e, "on unprocessed originals", WRK_MISS_S, 1.0, 1.0, "original"),
            ("enlarger-processed", "on processed photos", WRK_PROC_S, 2.0, 0.6, "mezzanine")):
        ce = c8.get(name, {})
        if "rps" not in ce and "rps" not in cs:
            row("`/render` miss %s under wrk -c8" % label, ce.get("error", "n/a"), cs.get("error", "n/a"), None, "n/a")
            continue
        r = ratio(ce.get("rps"), cs.get("rps"))
        row("`/render` miss %s, %s -> 400 px WebP, wrk -t2 -c8 -d%ds: throughput of 200s (peer: sharp from the "
            "original, -d%ds)" % (label, IMG_12, ce.get("seconds", secs), cs.get("seconds", WRK_MISS_S)),
            wrk_cell(ce, "%.1f req/s"), wrk_cell(cs, "%.1f req/s"), r, verdict(r, ">=", t_rps))
        r = ratio(ce.get("lat_p99"), cs.get("lat_p99"))
        row("same: latency p99 (p50) (peer: sharp)",
            "%.0f ms (%.0f)" % (ce["lat_p99"] / 1000, ce["lat_p50"] / 1000) if "lat_p99" in ce else "n/a",
            "%.0f ms (%.0f)" % (cs["lat_p99"] / 1000, cs["lat_p50"] / 1000) if "lat_p99" in cs else "n/a",
            r, verdict(r, "<=", t_p99))
        he = ce.get("hwm_kib") or ce.get("sampled_kib")
        hs = cs.get("hwm_kib") or cs.get("sampled_kib")
        r = ratio(he, hs)
        row("same: server peak RSS during the run (peer: sharp)", mib(he), mib(hs), r, verdict(r, "<=", 0.5))
        if "requests" in ce:
            row("same: enlarger's renders by source (`%s` in /metrics) for %d requests answered"
                % (RENDER_SOURCE_METRIC, ce["requests"]), fmt_sources(ce.get("sources")), "", None,
                sources_verdict(ce.get("sources"), {want: (ce["requests"], ce["requests"] + WRK_CONNS)}))
    singles = R.get("single", {})
    for img, tgt in ((IMG_24, 1.0), (IMG_12, None), (IMG_PNG, None)):
        sr = singles.get(img)
        if not sr:
            continue
        series = [(e, "on an unprocessed original", tgt)]
        if "enlarger-processed" in sr:
            series.append(("enlarger-processed", "on a processed photo", 0.5))
        for name, label, t in series:
            a, b = stats(sr[name]["ms"]), stats(sr[s]["ms"])
            r = ratio(a and a["median"], b and b["median"])
            errs = ""
            if sr[name]["errors"] or sr[s]["errors"]:
                errs = " (errors: enlarger %d, sharp %d)" % (len(sr[name]["errors"]), len(sr[s]["errors"]))
            row("single `/render` miss %s, %s -> 400 px WebP, N=%d sequential%s (peer: sharp from the original)"
                % (label, img, N_SINGLE, errs), fmt_stats(a, " ms"), fmt_stats(b, " ms"), r,
                verdict(r, "<=", t) if t else "(no target)")
        if "enlarger-processed" in sr:
            n_p, n_o = len(sr["enlarger-processed"]["ms"]), len(sr[e]["ms"])
            row("same: enlarger's renders by source (`%s` in /metrics) for %d processed + %d unprocessed requests"
                % (RENDER_SOURCE_METRIC, n_p, n_o), fmt_sources(R.get("single_sources", {}).get(img)), "", None,
                sources_verdict(R.get("single_sources", {}).get(img), {"mezzanine": (n_p, n_p),
                                                                        "original": (n_o, n_o)}))
    hit = R.get("hit", {})
    if e in hit:
        he, hn = hit[e], hit.get("nginx", {})
        r = ratio(he.get("rps"), hn.get("rps"))
        note = "" if hit.get("same_bytes") and hit.get("nginx_same") else " (**bytes differ between the two**)"
        row("`/render` hit, the same %d-byte WebP, wrk -t2 -c8 -d%ds (peer: nginx)%s" % (hit.get("bytes", 0),
                                                                                        WRK_HIT_S, note),
            wrk_cell(he, "%.0f req/s, p99 %.1f ms"), wrk_cell(hn, "%.0f req/s, p99 %.1f ms"),
            r, verdict(r, ">=", 0.5))
    pr = R.get("process")
    if pr:
        a, b = stats(pr[e]["ms"]), stats(pr[s]["ms"])
        r = ratio(a and a["median"], b and b["median"])
        met = verdict(r, "<=", 0.6)
        if a and a["median"] >= 1000:
            met += ", **not under 1 s**"
        errs = ""
        if pr[e]["errors"] or pr[s]["errors"]:
            errs = " (errors: enlarger %d, sharp %d)" % (len(pr[e]["errors"]), len(pr[s]["errors"]))
        row("`/process` %s, N=%d sequential%s (peer: sharp making the same four outputs + metadata)"
            % (IMG_24, N_PROCESS, errs), fmt_stats(a, " ms"), fmt_stats(b, " ms"), r, met)
        nm = pr.get("enlarger-nomezz")
        if nm:
            c = stats(nm["ms"])
            r = ratio(a and a["median"], c and c["median"])
            mz = R.get("process_mezzanines", {})
            row("same: enlarger with the mezzanine (peer: enlarger with ENLARGER_MEZZANINE=0, a second server); "
                "mezzanines written: %s of %d with, %s of %d without" % (mz.get("with", "?"), N_PROCESS,
                                                                          mz.get("without", "?"), N_PROCESS),
                fmt_stats(a, " ms"), fmt_stats(c, " ms") + (" (errors %d)" % len(nm["errors"]) if nm["errors"] else ""),
                r, verdict(r, "<=", 1.15))
    cc = R.get("conc", {})
    if e in cc:
        a, b = cc[e], cc[s]
        r = ratio(a["photos_per_s"], b["photos_per_s"])
        allowed = set(["200", "429", "503"])
        bad = {k: v for k, v in a["attempts"].items() if k not in allowed}
        ok = a["ok"] == a["n"] and not bad and a["ra_missing"] == 0
        row("%d concurrent `/process` over the corpus: photos/s (peer: sharp)" % a["n"],
            "%.2f/s, %d/%d ok in %.1f s" % (a["photos_per_s"], a["ok"], a["n"], a["wall_s"]),
            "%.2f/s, %d/%d ok in %.1f s" % (b["photos_per_s"], b["ok"], b["n"], b["wall_s"]),
            r, ("yes" if ok else "**no**") + " (all complete, only 429/503 + Retry-After)")
        row("same: responses seen (retries included)", fmt_attempts(a), fmt_attempts(b), None,
            "" if a["ra_missing"] == 0 else "**%d 429/503 without Retry-After**" % a["ra_missing"])
        row("same: server peak RSS", mib(a.get("hwm_kib")), mib(b.get("hwm_kib")),
            ratio(a.get("hwm_kib"), b.get("hwm_kib")), "(no target)")
    vt = R.get("vt", {})
    if vt:
        for img in (IMG_24, IMG_12):
            v = vt.get(img, {})
            sr = R.get("single", {}).get(img)
            a = stats(sr[e]["ms"]) if sr else None
            r = ratio(a and a["median"], v.get("ms", {}).get("median") if "ms" in v else None)
            row("`vipsthumbnail %s --size 400x -o x.webp[Q=80]`, one process each, N=%d (peer: vipsthumbnail; "
                "enlarger: its single miss above)" % (img, N_VT),
                fmt_stats(a, " ms"), (fmt_stats(v["ms"], " ms") + ", peak RSS " + mib(v["rss_kib"]))
                if "ms" in v else v.get("error", "n/a"), r, "(floor, no target)")
        v = vt.get("startup", {})
        if "ms" in v:
            row("`vipsthumbnail --vips-version`: process start-up alone", "", fmt_stats(v["ms"], " ms"), None, "")
    rt = R.get("rss_total", {})
    if rt:
        row("peak RSS over the whole run (VmHWM)", mib(rt.get(e)), "sharp %s, nginx %s" % (mib(rt.get(s)),
                                                                                        mib(rt.get("nginx"))),
            ratio(rt.get(e), rt.get(s)), "")
    w("")
    w("Notes on method:")
    w("")
    w("- **Misses are real misses.** enlarger keeps every rendered variant, so a repeated URL would be a hit. "
      "bench.py makes hard links of the same original under many keys (`m12-<thread>-<n>.jpg`, %d per wrk "
      "thread); `bench/wrk.lua` gives every request the next key of its thread, at the same `w=400&fmt=webp`. "
      "Each request decodes the same bytes to the same output, and none repeats (wrk reports `wrapped` > 0 "
      "if a thread ran out of keys: %s). The sequential cases use fresh keys the same way. sharp has no cache, "
      "so every sharp request is a miss anyway." % (MISS_KEYS_PER_THREAD, fmt_wrapped(R)))
    an = R.get("announce")
    if an:
        ce = R.get("c8", {}).get(e, {})
        past = max(0, ce.get("issued", 0) - WRK_THREADS * KNOWN_KEYS_PER_THREAD) if "issued" in ce else "n/a"
        w("- **Known originals.** A miss renders an original the store already knows, as it knows every photo "
          "that came through `/process` or the folder watcher. The originals here are hard links dropped in by "
          "hand, and the local store's first HEAD of such a file reads it whole for its MD5 ETag (what S3 "
          "reports; with S3 the ETag comes with the HEAD) and keeps it in a sidecar. So before the miss cases, "
          "bench.py sends one conditional GET (`If-None-Match: *`, answered 304 without rendering) for the "
          "first %d keys of each wrk thread and for the sequential keys: %d originals in %.1f s (%d failed). "
          "That is the one-time cost of a never-seen original: about %.1f ms of two cores each. Requests past "
          "those keys (this run: %s) render originals the store did not know yet, and pay it inside the "
          "case. `/process` keys are not announced: processing a new upload includes it."
          % (KNOWN_KEYS_PER_THREAD, an["keys"], an["s"], an["failed"], 1000 * an["s"] / max(1, an["keys"]), past))
    pc = R.get("processing")
    if pc:
        w("- **Processed photos.** The bench processes these originals first, as the gallery does: %d keys of %s "
          "(%d per wrk thread, `pm12-<thread>-<n>.jpg`: the c8 case's %d s at up to %d req/s) and %d of %s, "
          "hard links of the same file, each through POST /process (%d at a time; it took %.1f s). A miss on one "
          "of them renders from its mezzanine; `/metrics` (`%s`) is read before and after each case to check "
          "that every one did (wrk stops with up to %d requests in flight, which the server may still finish "
          "and count). sharp renders from the original in every case: it has no ingest step."
          % (pc["n12"], IMG_12, PROC_KEYS_PER_THREAD, WRK_PROC_S, PROCESSED_RATE, pc["n24"], IMG_24,
             PROCESS_WORKERS, pc["s"], RENDER_SOURCE_METRIC, WRK_CONNS))
    w("- Sequential cases alternate enlarger and sharp request by request, on a new connection each, after "
      "3 unmeasured warm-up renders per server. The wrk cases are one run per server (throughput and "
      "latency percentiles from that run), with keep-alive connections and `--timeout 10s`; throughput counts "
      "successful responses only.")
    w("- Peak RSS is the server's VmHWM from /proc, reset (`echo 5 > /proc/PID/clear_refs`) just before "
      "the case; a 10 Hz VmRSS sampler backs it up. nginx's figure is master + workers.")
    w("- The %d concurrent `/process` requests are all sent at once, one connection each; a 429 or 503 "
      "with `Retry-After` is retried after that many seconds, as EventBridge does. photos/s = photos completed / "
      "wall time until the last one finished. The set cycles through %s." % (
          N_CONC, ", ".join("`%s`" % x for x in R.get("conc_set", []))))
    w("- sharp's `/process` runs the four outputs as four clones of one `sharp(input).rotate()` in parallel "
      "(`Promise.all`) plus `metadata()`, and writes the four files; enlarger's also extracts EXIF, a "
      "BlurHash and a dominant colour, and writes its photo table.")
    w("")
    qr = R.get("quality") or []
    if qr:
        w("## Quality: file size and SSIM against a reference resize")
        w("")
        w("Reference: the original decoded at full size, oriented, 8-bit sRGB, alpha flattened on white, resized "
          "with Lanczos3 (vips_resize) to the output's own size; for the square cover thumbnails, scaled to cover "
          "and the crop offset that matches best is searched. SSIM on luma, 11x11 Gaussian window "
          "(sigma 1.5), `bench/ssim.c`. An output is fine when it is no larger than sharp's at no lower SSIM "
          "(SSIM within 0.001 counts as equal). A JPEG of an image with alpha is compared with the reference "
          "flattened on white and on black, and the better one counts: \"(on black)\" marks a JPEG whose "
          "transparent parts came out black.")
        w("")
        n_ok = n_all = 0
        w("| image | output | enlarger bytes | sharp bytes | size e/s | enlarger SSIM | sharp SSIM | verdict |")
        w("| --- | --- | --- | --- | --- | --- | --- | --- |")
        by = {}
        for q in qr:
            by.setdefault((q["image"], q["setting"]), {})[q["server"]] = q
        for (img, setting) in sorted(by):
            d = by[(img, setting)]
            qe, qs = d.get(e), d.get(s)
            v = "n/a"
            if qe and qs:
                larger = qe["bytes"] > qs["bytes"]
                lower = qe["ssim"] < qs["ssim"] - 0.001
                n_all += 1
                n_ok += not (larger or lower)
                v = "ok" if not (larger or lower) else "**%s**" % ", ".join(
                    x for x, c in (("larger", larger), ("lower SSIM", lower)) if c)
                if (qe["w"], qe["h"]) != (qs["w"], qs["h"]):
                    v += " (sizes %dx%d vs %dx%d)" % (qe["w"], qe["h"], qs["w"], qs["h"])
            w("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                img, setting, qe["bytes"] if qe else "n/a", qs["bytes"] if qs else "n/a",
                fmt_ratio(ratio(qe and qe["bytes"], qs and qs["bytes"])),
                fmt_ssim(qe), fmt_ssim(qs), v))
        w("")
        w("%d of %d outputs are no larger than sharp's at no lower SSIM. Where one is larger at a higher SSIM "
          "the two made a different size/quality trade-off rather than a worse one; the encoders differ "
          "(see the versions above: Debian's libwebp and libjpeg-turbo for enlarger, sharp's own libwebp and "
          "mozjpeg)." % (n_ok, n_all))
        w("")
    mq = R.get("mezz_quality")
    if mq and "rows" in mq:
        import mezzanine_quality
        w(mezzanine_quality.markdown(mq).rstrip("\n"))
        w("")
    elif mq:
        w("## Renders from the mezzanine against renders from the original (issue 16)")
        w("")
        w("Not run: %s" % mq.get("skipped", "?"))
        w("")
    # The profile (bench/profile.md) is measured by hand with perf and callgrind, not by this run.
    prof = os.path.join(os.path.dirname(os.path.abspath(__file__)), "profile.md")
    if os.path.exists(prof):
        with open(prof) as pf:
            w(pf.read().rstrip("\n"))
        w("")
    return "\n".join(L) + "\n"


def fmt_sources(d):
    if d is None:
        return "n/a (no %s in /metrics)" % RENDER_SOURCE_METRIC
    return ", ".join("%s %d" % kv for kv in sorted(d.items())) or "none"


def sources_verdict(d, want):
    """want: {source: (least, most)}; every other source must count 0."""
    if d is None:
        return "**n/a**"
    ok = all(lo <= d.get(k, 0) <= hi for k, (lo, hi) in want.items()) and \
        all(v == 0 for k, v in d.items() if k not in want)
    return ("yes" if ok else "**no**") + " (%s)" % ", ".join(
        "%s %d" % (k, lo) if lo == hi else "%s %d-%d" % (k, lo, hi) for k, (lo, hi) in sorted(want.items()))


def fmt_ssim(q):
    if not q:
        return "n/a"
    return "%.4f" % q["ssim"] + (" (on %s)" % q["bg"] if q["bg"] == "black" else "")


def fmt_attempts(c):
    parts = ["%s x%d" % (k, v) for k, v in sorted(c["attempts"].items())]
    s = ", ".join(parts) if parts else "none"
    if c["failed"]:
        s += "; failed e.g. %s" % json.dumps(c["failed"][:2])
    return s


def fmt_wrapped(R):
    parts = []
    for name, r in R.get("c8", {}).items():
        if "wrapped" in r:
            parts.append("%s %d" % (name, r["wrapped"]))
    return ", ".join(parts) or "n/a"


if __name__ == "__main__":
    main()
