"""The mezzanine (issue 16, points 1 and 2), the real binary over real HTTP, on either backend:

  test_mezzanine.py                 folders + SQLite, label integration
  test_mezzanine.py --backend aws   s3rver + dynalite (tests/aws/standins.py), label aws

/process of a large JPEG with EXIF orientation 6 and GPS keeps a mezzanine in the render
bucket at <sha256(key)>/<version>/mezzanine.jpg (docs/keys.md), read back directly (files,
or botocore): a baseline 4:4:4 JPEG of the oriented size the rule gives (fitted inside the
box whose side `enlarger config` names), no GPS, no orientation. A render miss that fits
decodes it (enlarger_render_source_total{source="mezzanine"}, one GET of it instead of the
original's), comes out at the size a render of an unprocessed copy of the same bytes has
(which counts "original"), with pixels close to it; a wider one reads the original; a
version without one asks the store once, then remembers. ENLARGER_MEZZANINE=0 writes none;
an image with alpha and a small one get none; a replacement and a delete remove it with
the old version's variants."""

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "aws"))
import enl_harness as harness  # noqa: E402
from enl_harness import (AwsBackend, Server, add_gps, check, delta, done,  # noqa: E402
                         eventbridge, exif_tags, make_image, need_tools, render_path, run,
                         store_ops, vipsheader, wait_until)

ap = argparse.ArgumentParser()
ap.add_argument("--backend", choices=["local", "aws"], default="local")
ARGS = ap.parse_args()
need_tools("vips", "vipsheader", "exiftool")

tmp = tempfile.mkdtemp(prefix="enl-mezz-")


def mezzanine_side():
    """The box's side, as `enlarger config` documents ENLARGER_MEZZANINE (never hard-coded
    here: the lead sets ENL_MEZZANINE_SIDE by measurement)."""
    out = subprocess.run([harness.BINARY, "config"], check=True, capture_output=True,
                         text=True).stdout
    m = re.search(r"`ENLARGER_MEZZANINE`.*?over (\d+) px on a side", out)
    check(m is not None, "`enlarger config` names the mezzanine's side")
    return int(m.group(1))


S = mezzanine_side()


def fit_inside(w, h, bw, bh):
    """vips_thumbnail's fit-inside size of a full-size w x h image in bw x bh, never up."""
    s = max(w / bw, h / bh, 1.0)
    return max(1, int(w / s + 0.5)), max(1, int(h / s + 0.5))


# The original: stored landscape, EXIF orientation 6, so portrait once oriented; larger than
# the box on both sides.
STORED = (S + S // 2 + 31, S + 101)
ORIENTED = (STORED[1], STORED[0])
MW, MH = fit_inside(*ORIENTED, S, S)
W_FIT = (MW // 2) | 1          # fits inside the mezzanine
W_BIG = (MW + ORIENTED[0]) // 2  # wider than the mezzanine, narrower than the original
W_FIT2, W_FIT3 = 200, 400
WIDTHS = f"{W_FIT2},{W_FIT3},{W_FIT},{W_BIG}"


def camera_jpeg(name, w, h):
    """Noise blurred to a photo's grain (pure pixel noise would measure the resamplers),
    with GPS, Artist and orientation 6 written by exiftool."""
    path = os.path.join(tmp, name)
    make_image(os.path.join(tmp, "noise.v"), w, h)
    run("vips", "gaussblur", os.path.join(tmp, "noise.v"), path + "[Q=85]", "2")
    add_gps(path)
    run("exiftool", "-q", "-overwrite_original", "-n", "-Orientation=6",
        "-Artist=Ann Example", "-Copyright=(c) Ann", path)
    with open(path, "rb") as f:
        return f.read()


def process(srv, key, seq, deleted=False):
    st, _, res = harness.process(srv, eventbridge("originals", key, seq, deleted=deleted), {},
                                 200, f"process {key}")
    return res or {}


def source_counts(srv):
    st, _, body = srv.request("GET", "/metrics")
    out = {}
    for m in re.finditer(r'^enlarger_render_source_total\{source="(\w+)"\} (\S+)$',
                         body.decode(), re.M):
        out[m.group(1)] = float(m.group(2))
    return out


def render(srv, key, w, fmt="png"):
    """A miss: (body, store calls, render sources) it cost."""
    ops, src = store_ops(srv), source_counts(srv)
    st, h, body = srv.request("GET", render_path(key, w=w, fmt=fmt), timeout=120)
    check(st == 200 and h.get("x-cache") == "miss", f"render {key} w={w}: {st} {h}")
    return body, delta(store_ops(srv), ops), delta(source_counts(srv), src)


def prefix(key):
    return hashlib.sha256(key.encode()).hexdigest() + "/"


def mezzanines(srv, key):
    return [k for k in srv.backend.list_keys("renders", prefix(key))
            if k.endswith("/mezzanine.jpg")]


def mean_abs_diff(a, b):
    """Mean absolute difference of two images' pixels (0-255), by the vips CLI."""
    pa, pb = os.path.join(tmp, "a.png"), os.path.join(tmp, "b.png")
    for p, d in ((pa, a), (pb, b)):
        with open(p, "wb") as f:
            f.write(d)
    run("vips", "subtract", pa, pb, os.path.join(tmp, "d.v"))
    run("vips", "abs", os.path.join(tmp, "d.v"), os.path.join(tmp, "e.v"))
    out = subprocess.run(["vips", "avg", os.path.join(tmp, "e.v")], check=True,
                         capture_output=True, text=True).stdout
    return float(out.strip())


# ---- the checks -------------------------------------------------------------------------

def written_and_used(srv):
    key, copy = "mezz/camera.jpg", "mezz/copy of camera.jpg"
    data = camera_jpeg("camera.jpg", *STORED)
    srv.put_original(key, data)
    srv.put_original(copy, data)
    res = process(srv, key, "10")
    check(res.get("outcome") == "processed" and (res.get("width"), res.get("height")) == ORIENTED,
          f"processed, oriented {ORIENTED}: {res.get('outcome')} {res.get('width')}x"
          f"{res.get('height')}")
    check(not [a for a in (srv.row(key) or {}) if "mezzanine" in a.lower()],
          "the photo item has no mezzanine attribute")
    version = res.get("thumbnailKey", "x/x/x").split("/")[-2]
    mkey = prefix(key) + version + "/mezzanine.jpg"
    m = res.get("mezzanine") or {}
    check(m.get("key") == mkey and (m.get("width"), m.get("height")) == (MW, MH),
          f"the result names the mezzanine {mkey} {MW}x{MH}: {m}")
    got = srv.backend.get_object("renders", mkey)
    check(got is not None, f"the mezzanine object {mkey} exists")
    if not got:
        return
    body, ctype, cache = got
    check(m.get("bytes") == len(body), f"its size is reported: {m.get('bytes')} != {len(body)}")
    check(ctype == "image/jpeg" and cache and "no-store" in cache,
          f"stored as image/jpeg, never cached: {ctype} {cache}")
    w, h, loader = vipsheader(body)
    check((w, h) == (MW, MH) and loader.startswith("jpegload"),
          f"a JPEG of {MW}x{MH}: {w}x{h} {loader}")
    path = os.path.join(tmp, "mezz.jpg")
    with open(path, "wb") as f:
        f.write(body)
    tags = exif_tags(path)
    check(not [t for t in tags if "GPS" in t], f"no GPS in the mezzanine: {tags}")
    check(tags.get("IFD0:Orientation", 1) == 1, f"no orientation: {tags.get('IFD0:Orientation')}")
    check(tags.get("IFD0:Artist") == "Ann Example", f"Artist kept: {tags.get('IFD0:Artist')}")
    check(tags.get("File:EncodingProcess") == 0, "baseline, not progressive: "
          f"{tags.get('File:EncodingProcess')}")
    check(tags.get("File:YCbCrSubSampling") in ("1 1", None) and
          tags.get("File:ColorComponents") == 3, "4:4:4, 3 components: "
          f"{tags.get('File:YCbCrSubSampling')} {tags.get('File:ColorComponents')}")
    check(not [t for t in tags if t.startswith("ICC")], "no ICC profile")

    # A miss that fits: the mezzanine, read instead of the original.
    a, ops, src = render(srv, key, W_FIT)
    check(src == {"mezzanine": 1}, f"rendered from the mezzanine: {src}")
    want = {("head", "originals"): 1, ("get", "renders"): 2, ("put", "renders"): 1}
    check(ops == want, f"a processed photo's miss: store calls {ops} != {want}")
    # The same bytes never processed: the original (its size unknown: read first).
    b, ops, src = render(srv, copy, W_FIT)
    check(src == {"original": 1}, f"an unprocessed copy renders from the original: {src}")
    wa, ha, _ = vipsheader(a)
    wb, hb, _ = vipsheader(b)
    want_size = fit_inside(*ORIENTED, W_FIT, 10**7)
    check((wa, ha) == (wb, hb) == want_size,
          f"same size from either source: {wa}x{ha} and {wb}x{hb}, rule {want_size}")
    if (wa, ha) == (wb, hb):
        d = mean_abs_diff(a, b)
        print(f"mean absolute difference mezzanine vs original render: {d:.3f}", flush=True)
        check(d < 2.0, f"the renders' pixels are close: mean abs diff {d:.3f}")
    # Its size now known, the copy's next miss asks for a mezzanine once (none: 404)...
    _, ops, src = render(srv, copy, W_FIT2)
    check(src == {"original": 1}, f"no mezzanine: the original: {src}")
    want = {("head", "originals"): 1, ("get", "renders"): 2, ("get", "originals"): 1,
            ("put", "renders"): 1}
    check(ops == want, f"first miss of a known version without one: {ops} != {want}")
    # ... and then remembers there is none.
    _, ops, src = render(srv, copy, W_FIT3)
    want = {("head", "originals"): 1, ("get", "renders"): 1, ("get", "originals"): 1,
            ("put", "renders"): 1}
    check(src == {"original": 1} and ops == want, f"remembered: {src} {ops} != {want}")
    # Wider than the mezzanine: the original.
    big, ops, src = render(srv, key, W_BIG)
    check(src == {"original": 1} and vipsheader(big)[0] == W_BIG,
          f"wider than the mezzanine: from the original, {W_BIG} wide: {src} "
          f"{vipsheader(big)[:2]}")
    check(("get", "originals") in ops, f"the original was read: {ops}")
    # A cover crop that fits: the mezzanine, at exactly w x h.
    ops0, src0 = store_ops(srv), source_counts(srv)
    st, _, c = srv.request("GET", render_path(key, w=W_FIT2, h=W_FIT2, fit="cover", fmt="png"),
                           timeout=60)
    check(st == 200 and vipsheader(c)[:2] == (W_FIT2, W_FIT2) and
          delta(source_counts(srv), src0) == {"mezzanine": 1},
          f"a cover crop from the mezzanine: {st} {vipsheader(c)[:2] if st == 200 else ''} "
          f"{delta(source_counts(srv), src0)}")
    # The log line of each miss says which source it decoded.
    lines = [l for l in srv.log_lines() if l.get("msg") == "variant rendered"]
    srcs = sorted({l.get("source") for l in lines})
    check(srcs == ["mezzanine", "original"], f"the render lines name the source: {srcs}")
    return key, version, mkey


def replaced_and_deleted(srv, key, version, mkey):
    data = camera_jpeg("camera2.jpg", STORED[0] + 8, STORED[1])
    srv.put_original(key, data)
    res = process(srv, key, "20")
    v2 = res.get("thumbnailKey", "x/x/x").split("/")[-2]
    check(v2 != version and (res.get("mezzanine") or {}).get("key", "").split("/")[-2] == v2,
          f"the new version has its own mezzanine: {res.get('mezzanine')}")
    wait_until("the replaced version's mezzanine is deleted by the cleanup",
               lambda: mezzanines(srv, key) == [prefix(key) + v2 + "/mezzanine.jpg"])
    srv.backend.delete_original(key)
    res = process(srv, key, "30", deleted=True)
    check(res.get("outcome") == "deleted", f"deleted: {res.get('outcome')}")
    wait_until("a deleted photo's mezzanine is deleted",
               lambda: srv.backend.list_keys("renders", prefix(key)) == [])


def none_for_alpha_or_small(srv):
    rgba = os.path.join(tmp, "rgba.png")
    make_image(os.path.join(tmp, "rgb.v"), S + 64, S // 2)
    run("vips", "bandjoin_const", os.path.join(tmp, "rgb.v"), rgba, "128")
    with open(rgba, "rb") as f:
        srv.put_original("mezz/alpha.png", f.read())
    res = process(srv, "mezz/alpha.png", "10")
    check(res.get("outcome") == "processed" and "mezzanine" not in res,
          f"an image with alpha gets none: {res.get('outcome')} {res.get('mezzanine')}")
    check(mezzanines(srv, "mezz/alpha.png") == [], "no mezzanine object for alpha")
    srv.put_original("mezz/small.jpg", make_image(os.path.join(tmp, "small.jpg"), S, S // 3))
    res = process(srv, "mezz/small.jpg", "10")
    check(res.get("outcome") == "processed" and "mezzanine" not in res,
          f"an image not over the box gets none: {res.get('mezzanine')}")
    check(mezzanines(srv, "mezz/small.jpg") == [], "no mezzanine object for a small one")
    # A small photo's miss never asks for one (the rule says it has none).
    ops = store_ops(srv)
    _, _, _ = render(srv, "mezz/small.jpg", W_FIT2)
    check(delta(store_ops(srv), ops).get(("get", "renders")) == 1,
          "a small photo's miss reads no mezzanine")


def switched_off(backend):
    srv = Server(backend, ENLARGER_MEZZANINE=0, ENLARGER_RENDER_WIDTHS=WIDTHS)
    try:
        key = "mezz/off.jpg"
        srv.put_original(key, camera_jpeg("off.jpg", *STORED))
        res = process(srv, key, "10")
        check(res.get("outcome") == "processed" and "mezzanine" not in res,
              f"ENLARGER_MEZZANINE=0: none in the result: {res.get('mezzanine')}")
        check(mezzanines(srv, key) == [], "ENLARGER_MEZZANINE=0 writes none")
        _, ops, src = render(srv, key, W_FIT)
        check(src == {"original": 1} and ops.get(("get", "renders")) == 1,
              f"and renders never ask for one: {src} {ops}")
        check(srv.stop() == 0, "server exits 0")
    finally:
        srv.cleanup()


def suite(backend):
    print(f"mezzanine side {S}: original {STORED} stored, {ORIENTED} oriented, mezzanine "
          f"{MW}x{MH}; widths {WIDTHS}", flush=True)
    srv = Server(backend, ENLARGER_RENDER_WIDTHS=WIDTHS)
    try:
        key, version, mkey = written_and_used(srv) or (None, None, None)
        if key:
            replaced_and_deleted(srv, key, version, mkey)
        none_for_alpha_or_small(srv)
        check(srv.stop() == 0, "server exits 0")
    finally:
        srv.cleanup()
    switched_off(backend)


def main():
    if ARGS.backend == "local":
        suite(None)
    else:
        with harness.standins_or_skip() as st:
            suite(AwsBackend(st))
    shutil.rmtree(tmp, ignore_errors=True)
    done()


main()
