#!/usr/bin/env python3
"""CPU seconds one POST /process costs the service, per image: the figure docs/deploy.md's
cost section multiplies. Starts `enlarger serve` on the embedded default (a temporary data
dir, one job at a time), sends /process for COPIES fresh keys of each image one after the
other, and reads the server's utime + stime from /proc before and after. Prints a Markdown
table. Python standard library only; stops exactly the process it started.

    bench/cpu_per_photo.py build/ci/enlarger IMAGE... [--copies 5]
"""

import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

TCK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TCK  # utime, stime


def post(port, key):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    c.request("POST", "/process", json.dumps({"bucket": "originals", "key": key}), {"Content-Type": "application/json"})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, json.loads(body or b"{}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("images", nargs="+")
    ap.add_argument("--copies", type=int, default=5)
    args = ap.parse_args()

    data = tempfile.mkdtemp(prefix="cpu-per-photo-")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, ENLARGER_LISTEN=f"127.0.0.1:{port}", ENLARGER_DATA_DIR=data, ENLARGER_WATCH="0",
               ENLARGER_JOBS="1", ENLARGER_LOG_LEVEL="warn")
    originals = os.path.join(data, "originals")
    for i, img in enumerate(args.images):
        for c in range(args.copies + 1):  # copy 0 warms the path up, uncounted
            d = os.path.join(originals, f"c{c}")
            os.makedirs(d, exist_ok=True)
            shutil.copyfile(img, os.path.join(d, os.path.basename(img)))
    proc = subprocess.Popen([args.binary, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        print("| image | pixels | CPU per /process (mean of %d) | wall per /process |" % args.copies)
        print("| --- | --- | --- | --- |")
        total_cpu = total_n = 0
        for img in args.images:
            name = os.path.basename(img)
            st, res = post(port, f"c0/{name}")
            if st != 200:
                print(f"| {name} | - | failed: {st} {res.get('detail')} | - |")
                continue
            mp = (res.get("width") or 0) * (res.get("height") or 0) / 1e6
            c0, t0 = cpu_s(proc.pid), time.monotonic()
            for c in range(1, args.copies + 1):
                st, res = post(port, f"c{c}/{name}")
                if st != 200 or res.get("outcome") != "processed":
                    sys.exit(f"{name} copy {c}: {st} {res}")
            cpu = (cpu_s(proc.pid) - c0) / args.copies
            wall = (time.monotonic() - t0) / args.copies
            total_cpu += cpu * args.copies
            total_n += args.copies
            print(f"| {name} | {mp:.1f} MP | {cpu * 1000:.0f} ms | {wall * 1000:.0f} ms |")
        if total_n:
            print(f"| **mean over the set** | | **{total_cpu / total_n * 1000:.0f} ms** | |")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
