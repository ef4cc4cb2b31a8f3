#!/usr/bin/env python3
"""A single render miss at every width of the default list, side by side with sharp: bench/run.sh
measures 400 px only, and the decode plan (DCT scaling, the mezzanine) changes with the width.

For each image (the corpus' 24 MP and 12 MP JPEGs) and each width of ENL_DEFAULT_RENDER_WIDTHS
below the image's (upright) width: N sequential misses (fresh keys, hard links of one file, WebP, the
default settings) on an original never processed, on one processed first (POST /process; from
its mezzanine when the width fits it) and on sharp (bench/sharp-server.js, from the original),
interleaved request by request. Prints a markdown table of medians and ratios to sharp.

    python3 bench/width_sweep.py [--n 7]

Python standard library, node (sharp in bench/node_modules) and the Release build.
"""

import argparse
import os
import shutil
import statistics
import sys

import bench as B
from mezzanine_quality import defaults


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--enlarger", default=os.path.join(root, "build/bench/enlarger"))
    ap.add_argument("--corpus", default=None, help="folder with the 24 MP and 12 MP JPEGs")
    ap.add_argument("--work", default=os.path.join(root, "build/bench-widths"), help="scratch (wiped)")
    ap.add_argument("--n", type=int, default=7, help="misses per width and server")
    ap.add_argument("--widths", help="a comma-separated subset of the default list")
    ap.add_argument("--enlarger-env", action="append", default=[], metavar="NAME=VALUE",
                    help="an environment variable for enlarger (repeatable)")
    a = ap.parse_args()
    corpus = a.corpus or next((d for d in (os.path.join(root, "../shared/testdata/corpus"),
                                           os.path.join(root, "build/bench-corpus")) if os.path.isdir(d)),
                              None)
    if not corpus:
        sys.exit("width_sweep: no corpus: give --corpus, or run bench/gen-corpus.sh build/bench-corpus")
    widths = defaults(os.path.join(root, "include/enlarger/defaults.h"))[0]
    if a.widths:
        widths = [w for w in widths if str(w) in a.widths.split(",")]
    if os.path.isdir(a.work):
        shutil.rmtree(a.work)
    data, logs = os.path.join(a.work, "data"), os.path.join(a.work, "logs")
    orig = os.path.join(data, "originals")
    os.makedirs(orig)
    os.makedirs(logs)

    plan = []  # (image, width, {series: [keys]})
    for img in (B.IMG_24, B.IMG_12):
        src = os.path.join(orig, img)
        shutil.copyfile(os.path.join(corpus, img), src)
        o = B.cmd_out(["vipsheader", "-f", "orientation", src])
        w_img = int(B.cmd_out(["vipsheader", "-f", "height" if o in "5678" else "width", src]))
        for w in [x for x in widths if x < w_img]:
            # u: never processed, p: processed first, s: sharp's; hard links of one file.
            keys = {s: ["%s-%d-%d-%s" % (s, w, i, img) for i in range(a.n + 1)] for s in "ups"}
            for k in sum(keys.values(), []):
                os.link(src, os.path.join(orig, k))
            plan.append((img, w, keys))

    pe, ps = B.free_port(), B.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENLARGER_")}
    enl = B.Server("enlarger", [a.enlarger, "serve"], {}, logs, pe, "/healthz")
    enl.env = dict(env, ENLARGER_LISTEN="127.0.0.1:%d" % pe, ENLARGER_DATA_DIR=data, ENLARGER_WATCH="0",
                   **dict(kv.split("=", 1) for kv in a.enlarger_env))
    sharp = B.Server("sharp", ["node", os.path.join(here, "sharp-server.js")],
                     {"SHARP_LISTEN": "127.0.0.1:%d" % ps, "SHARP_DATA_DIR": data,
                      "SHARP_OUT_DIR": os.path.join(a.work, "sharp-out")}, logs, ps, "/healthz")
    rows = []
    try:
        enl.start()
        sharp.start()
        processed = [k for _, _, keys in plan for k in keys["p"]]
        done = B.process_pool(pe, processed)
        if done["failed"]:
            sys.exit("width_sweep: /process failed: %s" % done["failed"])
        B.announce(pe, [k for _, _, keys in plan for k in keys["u"]])
        for img, w, keys in plan:
            ms = {"u": [], "p": [], "s": []}
            before = B.render_sources(pe)
            for i in range(a.n + 1):  # request 0 of each series is a warm-up
                for series, port in (("u", pe), ("p", pe), ("s", ps)):
                    st, _, body, dt = B.request(port, "GET", B.render_path(keys[series][i], w))
                    if st != 200:
                        sys.exit("width_sweep: %s %d px: %d %s" % (series, w, st, body[:200]))
                    if i:
                        ms[series].append(dt * 1000)
            d = B.sources_delta(before, B.render_sources(pe)) or {}
            med = {s: statistics.median(v) for s, v in ms.items()}
            rows.append((img, w, med, d.get("mezzanine", 0)))
            B.log("%s %d: %s" % (img, w, {s: round(v, 1) for s, v in med.items()}))
    finally:
        enl.stop()
        sharp.stop()

    print("| image | width | unprocessed ms | processed ms (from the mezzanine) | sharp ms "
          "| unprocessed / sharp | processed / sharp |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for img, w, med, mz in rows:
        print("| %s | %d | %.1f | %.1f (%d of %d) | %.1f | %.2fx | %.2fx |" % (
            img, w, med["u"], med["p"], mz, a.n + 1, med["s"], med["u"] / med["s"], med["p"] / med["s"]))


if __name__ == "__main__":
    main()
