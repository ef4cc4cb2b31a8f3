#!/usr/bin/env python3
"""Cold start of the Lambda door, with the fake runtime API of tests/lambda: the time from
exec of the binary to its first GET .../invocation/next (start-up done, ready for work),
and to the first response of a 12 MP render (a function URL request for
GET /render/<12 MP JPEG>?w=400&fmt=webp, queued before exec, so it is the first thing the
function does), each run a fresh process on a fresh data folder.

    bench/lambda_coldstart.py [--runs 9] [--image FILE] [--backend local|aws]
                              [--only-heif-module]

--only-heif-module starts libvips with only its HEIF module (VIPSHOME pointing at a folder
that holds just vips-heif.so), as the container image ships it (docker/Dockerfile drops
the modules of the loaders enlarger blocks anyway). --backend aws runs on the S3 and
DynamoDB stand-ins (tests/aws/standins.py), as a function on AWS would.

Prints each run, then the median (min, max) and the load average before and after: the
machine may be shared, so give the load with the numbers. ENL_BINARY names the binary
(default build/ci/enlarger)."""

import argparse
import glob
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.dont_write_bytecode = True
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
os.environ.setdefault("ENL_BINARY", os.path.join(ROOT, "build", "ci", "enlarger"))
os.environ.setdefault("ENL_SOURCE_DIR", ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests", "lambda"))
sys.path.insert(0, os.path.join(ROOT, "tests", "aws"))
from fake_runtime import FakeRuntime  # noqa: E402
from lambda_fn import LambdaFn, url_event  # noqa: E402


def heif_only_vipshome(tmp):
    """A VIPSHOME whose module folder holds only the HEIF module."""
    mods = glob.glob("/usr/lib/*/vips-modules-*/vips-heif.so")
    if not mods:
        sys.exit("no vips-heif.so to link to")
    src = mods[0]
    arch_dir = os.path.basename(os.path.dirname(os.path.dirname(src)))  # x86_64-linux-gnu
    moddir = os.path.join(tmp, arch_dir, os.path.basename(os.path.dirname(src)))
    os.makedirs(moddir)
    os.symlink(src, os.path.join(moddir, "vips-heif.so"))
    return tmp


def sched_ms(pid):
    """(CPU time, time spent waiting for a CPU) of all pid's threads so far, in ms
    (/proc/PID/task/*/schedstat: ns on a CPU, ns runnable on a run queue)."""
    run = wait = 0
    for f in glob.glob("/proc/%d/task/*/schedstat" % pid):
        try:
            with open(f) as fh:
                v = fh.read().split()
            run += int(v[0])
            wait += int(v[1])
        except (OSError, ValueError, IndexError):
            pass
    return run / 1e6, wait / 1e6


def one_run(image, backend, env, n):
    """n numbers the original's key, so that no run finds an earlier run's variant in a
    render bucket that outlives it (the stand-ins')."""
    from enl_harness import LocalBackend
    fn = None
    data = tempfile.mkdtemp(prefix="enl-cold-")
    try:
        be = backend or LocalBackend(os.path.join(data, "data"))
        key = "cold/12mp-%d.jpg" % n
        be.put_original(key, image)
        os.makedirs(os.path.join(data, "data", "originals"), exist_ok=True)
        # Queued before exec: the first next takes it at once.
        rt = FakeRuntime()
        rt_inv = rt.submit(url_event("GET", "/render/" + key, "w=400&fmt=webp"))
        fn = LambdaFn(be, data=os.path.join(data, "data"), wait_ready=False, rt=rt, **env)
        to_next = fn.wait_ready()
        # Read as soon as the first next is seen: the process is blocked in it (its first
        # invocation is being handed over), so this is the CPU its start-up took.
        cpu_next, wait_next = sched_ms(fn.proc.pid)
        if not rt_inv.done.wait(60):
            raise RuntimeError("no answer")
        r = rt_inv.result.json()
        if r.get("statusCode") != 200:
            raise RuntimeError("render answered %s" % r.get("statusCode"))
        to_render = (rt_inv.answered_at - fn.started) * 1000
        rc = fn.stop()
        if rc != 1:
            raise RuntimeError("exit %d" % rc)
        return to_next, to_render, cpu_next, wait_next
    finally:
        if fn:
            fn.cleanup()
        shutil.rmtree(data, ignore_errors=True)


def fmt(xs):
    return "%.0f ms (%.0f, %.0f)" % (statistics.median(xs), min(xs), max(xs))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--image", default=None,
                    help="a 12 MP JPEG (default: the corpus's phone-12mp-orient6.jpg)")
    ap.add_argument("--backend", choices=["local", "aws"], default="local")
    ap.add_argument("--only-heif-module", action="store_true")
    a = ap.parse_args()
    path = a.image
    if not path:
        for cand in (os.path.join(ROOT, "build", "bench-corpus", "phone-12mp-orient6.jpg"),
                     os.path.join(ROOT, "..", "shared", "testdata", "corpus",
                                  "phone-12mp-orient6.jpg")):
            if os.path.exists(cand):
                path = cand
                break
    if not path:
        sys.exit("no 12 MP JPEG: bench/gen-corpus.sh build/bench-corpus, or --image FILE")
    with open(path, "rb") as f:
        image = f.read()
    tmp = tempfile.mkdtemp(prefix="enl-cold-home-")
    env = {"ENLARGER_WATCH": "0"}
    if a.only_heif_module:
        env["VIPSHOME"] = heif_only_vipshome(tmp)
    st = None
    backend = None
    if a.backend == "aws":
        from enl_harness import AwsBackend
        from standins import StandIns
        st = StandIns(buckets=["originals", "thumbnails", "optimized", "renders"],
                      table="photos").__enter__()
        backend = AwsBackend(st)
    load0 = os.getloadavg()
    nexts, renders, cpus, waits = [], [], [], []
    try:
        one_run(image, backend, env, 0)  # warm the page cache; not counted
        for i in range(a.runs):
            n, r, c, wt = one_run(image, backend, env, i + 1)
            nexts.append(n)
            renders.append(r)
            cpus.append(c)
            waits.append(wt)
            print("run %d: first next %.0f ms (CPU %.0f ms, waiting for a CPU %.0f ms), "
                  "first 12 MP render answered %.0f ms" % (i + 1, n, c, wt, r), flush=True)
    finally:
        if st:
            st.__exit__(None, None, None)
        shutil.rmtree(tmp, ignore_errors=True)
    load1 = os.getloadavg()
    print("binary: %s; image: %s (%d bytes); backend %s%s" % (
        os.environ["ENL_BINARY"], os.path.basename(path), len(image), a.backend,
        "; libvips with its HEIF module only" if a.only_heif_module else ""))
    print("exec -> first next:            %s over %d runs" % (fmt(nexts), a.runs))
    print("  of which on a CPU:           %s (all threads)" % fmt(cpus))
    print("  waiting for a CPU:           %s (runnable, others running)" % fmt(waits))
    print("exec -> first render answered: %s" % fmt(renders))
    print("load average before %.2f %.2f %.2f, after %.2f %.2f %.2f (%d CPUs)" % (
        load0 + load1 + (os.cpu_count(),)))


if __name__ == "__main__":
    main()
