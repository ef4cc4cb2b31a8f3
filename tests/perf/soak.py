"""A soak (issue 15 point 5): the real binary under mixed traffic for a configurable time, on
the local backend. Render hits and misses, /process of new uploads (and their duplicate
events), bad requests of every kind, and slow clients (headers or body trickled, a body cut
off half-way), from a few client threads at a set request rate. It fails when:
  * the server's RSS, averaged over the first tenth of the measured phase (after the
    warm-up), grows by 5 % or more by the last tenth;
  * its open file descriptors or threads, counted at rest after the warm-up, do not come back
    to that count at rest after the run;
  * any request gets an answer other than the one it is designed to get (every kind of
    request below says which), or the server dies.

    soak.py [--seconds 300] [--warmup S] [--rate 12] [--curve curve.csv]

ENL_SOAK_SECONDS sets --seconds (ctest runs it shorter, see perf.cmake). The curve file gets
one line per sample: seconds, phase, RSS KiB, fds, threads, requests so far."""

import argparse
import base64
import collections
import hashlib
import hmac
import json
import os
import random
import shutil
import socket
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import enl_harness as H  # noqa: E402

KEY = "soak-test-key-0123456789"
# Renders are signed so that any width may be asked (ENLARGER_RENDER_WIDTHS=any needs
# signing): a miss is then a variant never asked before, however long the soak runs.
SIGN_KEY = "soak-signing-key-0123456789abcdef"
QUALITIES = list(range(30, 94, 2))  # 32 values, ENL_CONFIG_MAX_LIST


def render_path(key, **q):
    """H.render_path with the sig a gallery's backend would add (docs/signing.md)."""
    p = H.render_path(key, **q)
    path, query = p.split("?", 1)
    pairs = sorted((x for x in query.split("&") if x), key=lambda x: x.split("=", 1)[0].encode())
    mac = hmac.new(SIGN_KEY.encode(), (path + "?" + "&".join(pairs)).encode(), hashlib.sha256)
    sig = base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")
    return p + ("&" if query else "") + "sig=" + sig
AUTH = {"x-api-key": KEY}
HIT_KEYS = [f"soak/hit-{i}.jpg" for i in range(4)]
HIT_WIDTHS = [160, 320, 480]
PROCESS_KEYS = 200  # uploads rotate over this many keys (newer bytes, newer sequencer)
GROWTH_LIMIT = 0.05


def proc_stats(pid):
    """(RSS KiB, open fds, threads, anonymous RSS KiB, SQLite fds) of a process, from /proc.
    RSS is what the check is on; the anonymous part (heap, arenas: what a leak grows,
    without the shared libraries' pages) is printed beside it. The SQLite table's files
    are counted apart: its connection pool keeps as many connections open as callers ever
    came at once (up to SQLITE_POOL_MAX, 16, each with the database and its WAL), so they
    may rise to a new peak of concurrency and stay there by design."""
    rss = threads = anon = None
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("RssAnon:"):
                anon = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    fds = pool = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if "/.table/" in target:
            pool += 1
        else:
            fds += 1
    return rss, fds, threads, anon, pool


def fill_object_cache(srv, original, n=2000):
    """The local store remembers what it learnt about the last objects it read in a
    fixed-size cache (src/store/local_infocache.c, about 2.7 MiB when full): warm-up fills
    it, by reading n distinct objects (hard links of one original, each asked for with
    If-None-Match: *, answered 304 without rendering), so that its filling is not taken
    for growth."""
    src = os.path.join(srv.data, "originals", original)
    for i in range(n):
        key = f"soak/seen/{i:04d}.jpg"
        os.makedirs(os.path.dirname(os.path.join(srv.data, "originals", key)), exist_ok=True)
        os.link(src, os.path.join(srv.data, "originals", key))
        st, _, _ = srv.request("GET", render_path(key, w=64, fmt="webp"),
                               headers={"If-None-Match": "*"})
        H.check(st == 304, f"conditional GET of {key}: {st}")


def small_image(path, w, h, seed):
    """A smooth JPEG with a little noise: photo-like, and small on disk (an hour of
    uploads must not fill the disk)."""
    d = tempfile.mkdtemp(prefix="enl-soak-img-")
    try:
        H.run("vips", "xyz", os.path.join(d, "xy.v"), str(w), str(h))
        H.run("vips", "linear", os.path.join(d, "xy.v"), os.path.join(d, "l.v"),
              "0.2 0.3", f"{seed % 97} {seed % 53}")
        H.run("vips", "gaussnoise", os.path.join(d, "n.v"), str(w), str(h), "--sigma", "6",
              "--mean", "60")
        H.run("vips", "bandjoin", f"{os.path.join(d, 'l.v')} {os.path.join(d, 'n.v')}",
              os.path.join(d, "j.v"))
        H.run("vips", "cast", os.path.join(d, "j.v"), os.path.join(d, "u.v"), "uchar")
        H.run("vips", "copy", os.path.join(d, "u.v"), path + "[Q=85]")
    finally:
        shutil.rmtree(d, ignore_errors=True)
    with open(path, "rb") as f:
        return f.read()


class Traffic:
    """The client side: picks a kind of request, sends it, and checks the answer against the
    one the design gives it. Counts per kind and status; keeps the first unexpected ones."""

    def __init__(self, srv, originals, rate, clients):
        self.srv = srv
        self.originals = originals  # bytes of the /process originals
        self.interval = clients / rate
        self.clients = clients
        self.lock = threading.Lock()
        self.counts = collections.Counter()
        self.unexpected = []
        self.n_unexpected = 0
        self.miss_seq = 0
        self.upload_seq = 0
        self.corrupt_seq = 0
        self.stop = threading.Event()
        self.rng = random.Random(15)
        self.upload_lock = threading.Lock()  # the harness's put_original uses one temp name

    def upload(self, key, data):
        with self.upload_lock:
            self.srv.put_original(key, data)

    def next(self, attr):
        with self.lock:
            v = getattr(self, attr) + 1
            setattr(self, attr, v)
            return v

    def record(self, kind, ok, status, detail=""):
        with self.lock:
            self.counts[(kind, status)] += 1
            if not ok:
                self.n_unexpected += 1
                if len(self.unexpected) < 20:
                    self.unexpected.append(f"{kind}: {status} {detail}"[:300])

    def total(self):
        with self.lock:
            return sum(self.counts.values())

    # ---- the kinds of request, each with its designed answer

    def render_hit(self, rng):
        key, w = rng.choice(HIT_KEYS), rng.choice(HIT_WIDTHS)
        st, h, body = self.srv.request("GET", render_path(key, w=w, fmt="webp"))
        ok = st == 200 and body[:4] == b"RIFF" and body[8:12] == b"WEBP"
        self.record("render hit", ok, st, body[:100])

    def render_miss(self, rng):
        # A variant never asked for before: width and quality walk through 64..800 x QUALITIES.
        n = self.next("miss_seq")
        w, q = 64 + n % 737, QUALITIES[(n // 737) % len(QUALITIES)]
        fmt = rng.choice(["webp", "jpeg"])
        st, h, body = self.srv.request("GET", render_path(rng.choice(HIT_KEYS), w=w, q=q,
                                                            fmt=fmt))
        magic = body[8:12] == b"WEBP" if fmt == "webp" else body[:2] == b"\xff\xd8"
        self.record("render miss", st == 200 and magic, st, body[:100])

    def process(self, rng):
        # A new upload of one of PROCESS_KEYS keys (new bytes), then EventBridge's event for
        # it (processed), and sometimes that event again (a duplicate).
        n = self.next("upload_seq")
        key = f"soak/upload-{n % PROCESS_KEYS:03d}.jpg"
        data = self.originals[n % len(self.originals)] + n.to_bytes(4, "big")
        self.upload(key, data)
        ev = H.eventbridge("originals", key, sequencer="%016X" % (1 << 40 | n))
        st, _, body = self.srv.request("POST", "/process", ev, AUTH)
        try:
            out = json.loads(body).get("outcome")
        except (ValueError, AttributeError):
            out = None
        self.record("process", st == 200 and out == "processed", st, body[:200])
        if n % 5 == 0:
            st, _, body = self.srv.request("POST", "/process", ev, AUTH)
            try:
                out = json.loads(body).get("outcome")
            except (ValueError, AttributeError):
                out = None
            self.record("process duplicate", st == 200 and out == "duplicate", st, body[:200])

    def bad(self, rng):
        """A request the service must refuse, with the status it must refuse it with."""
        n = self.next("corrupt_seq")
        cases = [
            ("POST", "/process", b"{not json", AUTH, 400),
            ("POST", "/process", {"bucket": "elsewhere", "key": "x.jpg"}, AUTH, 400),
            ("POST", "/process", {"bucket": "originals", "key": "soak/nope.jpg"}, AUTH, 404),
            ("POST", "/process", {"bucket": "originals", "key": "x.jpg"}, {}, 401),
            ("POST", "/process", b"{" + b" " * 300000 + b"}", AUTH, 413),
            ("GET", render_path(HIT_KEYS[0], w=100, fmt="gif"), None, None, 400),
            ("GET", render_path(HIT_KEYS[0], fmt="webp"), None, None, 400),
            ("GET", render_path("soak/missing.jpg", w=100), None, None, 404),
            ("GET", "/nowhere", None, None, 404),
            ("DELETE", "/process", None, AUTH, 405),
            ("corrupt", None, None, None, 422),
        ]
        method, path, body, headers, want = cases[n % len(cases)]
        if method == "corrupt":
            key = f"soak/corrupt-{n % 50:02d}.jpg"
            self.upload(key, b"\xff\xd8\xff\xe0" + os.urandom(3000))
            ev = H.eventbridge("originals", key, sequencer="%016X" % (1 << 40 | n))
            method, path, body, headers = "POST", "/process", ev, AUTH
        try:
            st, h, data = self.srv.request(method, path, body, headers)
        except (ConnectionError, OSError) as e:
            # 413: the server may answer and close before the whole body is sent.
            if want == 413:
                self.record("bad request", True, "closed")
                return
            raise e
        ok = st == want and h.get("content-type", "").startswith("application/problem+json")
        self.record("bad request", ok, st, f"{method} {path[:60]} wanted {want}: {data[:120]}")

    def health(self, rng):
        path = rng.choice(["/healthz", "/readyz", "/metrics"])
        st, _, _ = self.srv.request("GET", path)
        self.record("health", st == 200, st, path)

    MIX = [(render_hit, 40), (render_miss, 15), (process, 12), (bad, 23), (health, 10)]

    def client(self, seed):
        rng = random.Random(seed)
        kinds = [k for k, _ in self.MIX]
        weights = [w for _, w in self.MIX]
        next_at = time.monotonic() + rng.random() * self.interval
        while not self.stop.is_set():
            kind = rng.choices(kinds, weights)[0]
            try:
                kind(self, rng)
            except Exception as e:  # a reset or timeout is a failed request, not a crash
                self.record(kind.__name__, False, "error", repr(e))
            next_at += self.interval
            delay = next_at - time.monotonic()
            if delay > 0:
                self.stop.wait(delay)
            else:
                next_at = time.monotonic()

    def slow_client(self, seed):
        """One slow client at a time: headers trickled, a body trickled, or a body cut off
        half-way. The server must cut a trickler off within ENLARGER_CONNECTION_TIMEOUT (plus
        a margin), and simply drop a half-sent body."""
        rng = random.Random(seed)
        n = 0
        while not self.stop.is_set():
            n += 1
            mode = ("headers", "body", "hangup")[n % 3]
            s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=2)
            t0 = time.monotonic()
            try:
                if mode == "hangup":
                    s.sendall(b"POST /process HTTP/1.1\r\nHost: x\r\nx-api-key: " + KEY.encode() +
                              b"\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n"
                              b'{"bucket":"originals",')
                    time.sleep(rng.random())
                    self.record("slow client", True, "hung up")
                    continue
                head = (b"GET /healthz HTTP/1.1\r\nHost: x\r\n" if mode == "headers" else
                        b"POST /process HTTP/1.1\r\nHost: x\r\nx-api-key: " + KEY.encode() +
                        b"\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n")
                s.sendall(head if mode == "body" else head[:20])
                cut = False
                s.settimeout(0.5)
                while time.monotonic() - t0 < CUT_LIMIT and not self.stop.is_set():
                    try:
                        s.sendall(b" " if mode == "body" else b"X")
                        got = s.recv(4096)
                        if got == b"" or got.startswith(b"HTTP/1.1 4") or got.startswith(
                                b"HTTP/1.1 5"):
                            cut = True
                            break
                    except socket.timeout:
                        pass
                    except OSError:
                        cut = True
                        break
                if self.stop.is_set() and not cut:
                    continue
                took = time.monotonic() - t0
                self.record("slow client", cut, "cut" if cut else "not cut",
                            f"{mode}: {took:.1f}s")
            finally:
                s.close()


CUT_LIMIT = 0  # set in main: the connection timeout plus a margin


def wait_rest(pid, base, patience):
    """Waits until fds and threads are back at base (or patience seconds pass); returns the
    last (rss, fds, threads)."""
    deadline = time.monotonic() + patience
    while True:
        s = proc_stats(pid)
        if base is None or (s[1] <= base[1] and s[2] <= base[2]) or time.monotonic() > deadline:
            return s
        time.sleep(0.5)


def settle(pid, seconds=3.0, patience=30.0):
    """The counts at rest: sampled until fds and threads hold still for `seconds`."""
    deadline = time.monotonic() + patience
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        s = proc_stats(pid)
        if last is None or s[1:3] != last[1:3]:
            last, since = s, time.monotonic()
        elif time.monotonic() - since >= seconds:
            break
        time.sleep(0.25)
    return last


def main():
    global CUT_LIMIT
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float,
                    default=float(os.environ.get("ENL_SOAK_SECONDS", "300")))
    ap.add_argument("--warmup", type=float, help="default: a fifth of --seconds")
    ap.add_argument("--rate", type=float, default=12.0, help="requests per second in all")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--curve", help="write the samples here (CSV)")
    ap.add_argument("--sample-every", type=float, default=2.0)
    ap.add_argument("--growth-limit", type=float, default=GROWTH_LIMIT,
                    help="largest RSS growth after the warm-up, as a fraction (0.05)")
    args = ap.parse_args()
    warmup = args.warmup if args.warmup is not None else args.seconds / 5
    H.need_tools("vips", "vipsheader")
    conn_timeout = 3
    CUT_LIMIT = conn_timeout + 5

    tmp = tempfile.mkdtemp(prefix="enl-soak-")
    # The stack's settings on one vCPU (ENLARGER_JOBS 2), a short connection timeout so slow
    # clients come and go often.
    srv = H.Server(ENLARGER_JOBS=2, ENLARGER_PROCESS_API_KEY=KEY, ENLARGER_LOG_LEVEL="warn",
                   ENLARGER_CONNECTION_TIMEOUT=conn_timeout, ENLARGER_RENDER_SIGNING_KEY=SIGN_KEY,
                   ENLARGER_RENDER_WIDTHS="any",
                   ENLARGER_RENDER_QUALITIES=",".join(map(str, QUALITIES)))
    curve = open(args.curve, "w") if args.curve else None
    samples = []
    try:
        for i, k in enumerate(HIT_KEYS):
            srv.put_original(k, small_image(os.path.join(tmp, f"hit{i}.jpg"), 1600, 1200, i))
        originals = [small_image(os.path.join(tmp, f"up{i}.jpg"), 480 + 40 * i, 360, 10 + i)
                     for i in range(4)]
        pid = srv.proc.pid
        with open(f"/proc/{pid}/maps") as f:
            sanitized = "libasan" in f.read()
        t = Traffic(srv, originals, args.rate, args.clients)
        t0 = time.monotonic()

        def sample(phase):
            s = proc_stats(pid)
            row = (round(time.monotonic() - t0, 1), phase) + s[:3] + (t.total(), s[3], s[4])
            samples.append(row)
            if curve:
                curve.write(",".join(map(str, row)) + "\n")
                curve.flush()
            return s

        def run_traffic(seconds, phase, seed):
            t.stop.clear()
            ths = [threading.Thread(target=t.client, args=(seed + i,), daemon=True)
                   for i in range(args.clients)]
            ths.append(threading.Thread(target=t.slow_client, args=(seed + 99,), daemon=True))
            for th in ths:
                th.start()
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                sample(phase)
                if srv.proc.poll() is not None:
                    break
                time.sleep(min(args.sample_every, max(0.0, end - time.monotonic())))
            t.stop.set()
            for th in ths:
                th.join(60)

        if curve:
            curve.write("seconds,phase,rss_kib,fds,threads,requests,anon_kib,sqlite_fds\n")
        fill_object_cache(srv, HIT_KEYS[0])
        run_traffic(warmup, "warmup", 1)
        base = settle(pid)
        sample("rest")
        print(f"after {warmup:.0f} s of warm-up, at rest: RSS {base[0] / 1024:.1f} MiB, "
              f"{base[1]} fds, {base[2]} threads", flush=True)
        n0 = len(samples)
        run_traffic(args.seconds - warmup, "soak", 1000)
        measured = [s for s in samples[n0:] if s[1] == "soak"]
        end = wait_rest(pid, base, 30)
        end = settle(pid) if end[1] > base[1] or end[2] > base[2] else end
        sample("rest")
        H.check(srv.proc.poll() is None, "the server is alive at the end")

        w = max(3, len(measured) // 10)
        first = sum(s[2] for s in measured[:w]) / w
        last = sum(s[2] for s in measured[-w:]) / w
        growth = last / first - 1
        anon_first = sum(s[6] for s in measured[:w]) / w
        anon_last = sum(s[6] for s in measured[-w:]) / w
        peak = max(s[2] for s in measured)
        per = collections.defaultdict(collections.Counter)
        for (kind, st), c in t.counts.items():
            per[kind][str(st)] += c
        total = t.total()
        print(f"{total} requests in {args.seconds:.0f} s ({total / args.seconds:.1f}/s): "
              + "; ".join(f"{k} {dict(v)}" for k, v in sorted(per.items())), flush=True)
        print(f"RSS under load: first tenth {first / 1024:.1f} MiB, last tenth "
              f"{last / 1024:.1f} MiB ({growth * 100:+.2f} %), peak {peak / 1024:.1f} MiB "
              f"(anonymous: {anon_first / 1024:.1f} -> {anon_last / 1024:.1f} MiB, "
              f"{(anon_last / anon_first - 1) * 100:+.2f} %); "
              f"at rest after: RSS {end[0] / 1024:.1f} MiB, {end[1]} fds (baseline {base[1]}), "
              f"{end[2]} threads (baseline {base[2]}), SQLite pool fds {end[4]} (after the "
              f"warm-up {base[4]}); load average {os.getloadavg()}",
              flush=True)
        H.check(t.n_unexpected == 0,
                f"{t.n_unexpected} requests failed other than by design: {t.unexpected}")
        if sanitized:
            print("(sanitizer build: RSS growth printed, not checked)")
        else:
            H.check(growth < args.growth_limit,
                    f"RSS grew {growth * 100:.2f} % after the warm-up (limit "
                    f"{args.growth_limit * 100:.0f} %)")
        H.check(end[1] <= base[1], f"open fds {end[1]} back to the baseline {base[1]}")
        H.check(end[2] <= base[2], f"threads {end[2]} back to the baseline {base[2]}")
        H.check(end[4] <= 2 * 16 + 1, f"SQLite fds {end[4]} within the pool's bound")
        for kind in ("render hit", "render miss", "process", "bad request", "slow client"):
            H.check(sum(per[kind].values()) > 0, f"no {kind} was sent")
    finally:
        if curve:
            curve.close()
        rc = srv.stop()
        H.check(rc == 0, f"server exits 0 on SIGTERM: {rc}")
        if rc:
            print(srv.read_log()[-3000:])
        srv.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    H.done()


if __name__ == "__main__":
    main()
