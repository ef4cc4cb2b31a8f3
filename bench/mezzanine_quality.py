#!/usr/bin/env python3
"""Quality held, not assumed (issue 16, point 3): renders from the mezzanine against renders
from the original, both compared with a lossless reference.

For every photo that gets a mezzanine, every width of the default width list
(ENL_DEFAULT_RENDER_WIDTHS, read from include/enlarger/defaults.h) that fits inside it, and
every format (webp, jpeg, avif): one `enlarger serve` (local store, a temporary data dir,
the default settings) renders the photo twice, from the same bytes under two keys: `mz-*`,
processed first through POST /process (so from its mezzanine), and `og-*`, never processed
(so from the original). /metrics (enlarger_render_source_total) is read around each render to
check that each came from the source it should. bench/ssim.c compares each render with the
original decoded at full size, oriented, 8-bit sRGB, resized with Lanczos3 to the render's
own size. pass = SSIM(mezzanine) >= SSIM(original) - 0.005, bytes within 3%, and each render
from the source it should. Also reports each photo's mezzanine bytes against its original and
its four derivatives (the extra storage per photo).

    python3 bench/mezzanine_quality.py --enlarger build/bench/enlarger --ssim build/bench/bench-ssim

Photos: --photos DIR (default ../shared/testdata/photos: JPEG and HEIC) and the JPEGs of
--corpus DIR (default ../shared/testdata/corpus, else build/bench-corpus from bench/gen-corpus.sh).
--quick: three photos, the smallest and largest fitting width (checks the harness only).
Writes the table as markdown to --out (default build/bench-run/mezzanine-quality.md) and the
figures to the same name with .json. bench/run.sh runs it as part of the one run.
Python standard library, the vips CLI (vipsheader) and bench-ssim.
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse

import bench as B

FORMATS = (("webp", "webp"), ("jpeg", "jpg"), ("avif", "avif"))
SSIM_SLACK = 0.005  # issue 16: at most 0.005 below the render from the original
BYTES_SLACK = 0.03  # issue 16: at bytes within 3%


def defaults(path):
    """The default width list, the mezzanine's side, its largest share of the original's pixels (percent)
    and its quality, from defaults.h."""
    with open(path) as f:
        text = f.read()
    m = re.search(r'#define\s+ENL_DEFAULT_RENDER_WIDTHS\s+"([0-9,\s]+)"', text)
    if not m:
        sys.exit("mezzanine_quality: no ENL_DEFAULT_RENDER_WIDTHS in %s" % path)
    widths = [int(x) for x in m.group(1).split(",")]
    side = re.search(r"#define\s+ENL_MEZZANINE_SIDE\s+(\d+)", text)
    share = re.search(r"#define\s+ENL_MEZZANINE_PIXELS_PERCENT\s+(\d+)", text)
    quality = re.search(r"#define\s+ENL_MEZZANINE_QUALITY\s+(\d+)", text)
    return (widths, int(side.group(1)) if side else None, int(share.group(1)) if share else 100,
            int(quality.group(1)) if quality else None)


def came_from(before, after):
    """The one source a render was counted under between two B.render_sources() reads, else a note."""
    d = B.sources_delta(before, after)
    if d is None:
        return "no metric"
    got = [k for k, v in d.items() if v]
    return got[0] if len(got) == 1 and d[got[0]] == 1 else "?" + json.dumps(d, sort_keys=True)


def header(path, field):
    try:
        return int(subprocess.check_output(["vipsheader", "-f", field, path], stderr=subprocess.DEVNULL))
    except (OSError, subprocess.CalledProcessError, ValueError):
        return None


def fitted(w, h, side, share=100):
    """w x h fitted inside side x side; None when it already fits, or when that keeps more than share
    percent of the pixels: no mezzanine."""
    if w <= side and h <= side:
        return None
    s = side / max(w, h)
    mw, mh = max(1, round(w * s)), max(1, round(h * s))
    return (mw, mh) if 100 * mw * mh <= share * w * h else None


def pick_images(photos, corpus, quick):
    """[(path, name)]: the photos (named photo-FILE) and the corpus JPEGs."""
    imgs = []
    if photos and os.path.isdir(photos):
        imgs += [(os.path.join(photos, f), "photo-" + f) for f in sorted(os.listdir(photos))
                 if f.lower().endswith((".jpg", ".jpeg", ".heic", ".heif"))]
    if corpus and os.path.isdir(corpus):
        imgs += [(os.path.join(corpus, f), f) for f in sorted(os.listdir(corpus))
                 if f.lower().endswith((".jpg", ".jpeg"))]
    if quick:  # one JPEG photo, one HEIC, one corpus JPEG, each big enough for a mezzanine
        big = [i for i in imgs if (header(i[0], "width") or 0) * (header(i[0], "height") or 0) >= 6e6]
        pick = []
        for want in (lambda n: n.startswith("photo-") and n.lower().endswith((".jpg", ".jpeg")),
                     lambda n: n.lower().endswith((".heic", ".heif")), lambda n: not n.startswith("photo-")):
            pick += [i for i in big if want(i[1]) and i not in pick][:1]
        imgs = pick
    return imgs


def run(enlarger_bin, ssim_bin, images, work, widths, side, share=100, quick=False):
    """Starts enlarger, renders and measures images [(path, name)]; returns the results (see markdown())."""
    if os.path.isdir(work):
        shutil.rmtree(work)
    data, logs, outd = os.path.join(work, "data"), os.path.join(work, "logs"), os.path.join(work, "out")
    orig = os.path.join(data, "originals")
    for d in (orig, logs, outd):
        os.makedirs(d)
    for p, name in images:
        shutil.copyfile(p, os.path.join(orig, "mz-" + name))
        os.link(os.path.join(orig, "mz-" + name), os.path.join(orig, "og-" + name))
    port = B.free_port()
    env = {"ENLARGER_LISTEN": "127.0.0.1:%d" % port, "ENLARGER_DATA_DIR": data, "ENLARGER_WATCH": "0"}
    # The default settings: no ENLARGER_* of the caller's (ENLARGER_RENDER_WIDTHS, ENLARGER_MEZZANINE ...).
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("ENLARGER_")}
    srv = B.Server("enlarger-quality", [enlarger_bin, "serve"], env, logs, port, "/healthz")
    srv.env = dict(base_env, **env)
    R = {"widths": widths, "side": side, "share": share, "quick": quick, "images": [], "rows": []}
    t0 = time.time()
    pending = []  # (image, bench-ssim Popen, {path: row}) measured while the next image renders
    try:
        srv.start()
        for img_path, name in images:
            st, _, body, _ = B.request(port, "POST", "/process", B.process_body("mz-" + name),
                                       {"Content-Type": "application/json"}, timeout=300)
            info = {"image": name, "bytes": os.path.getsize(img_path)}
            R["images"].append(info)
            if st != 200:
                info["error"] = "/process %d: %s" % (st, body[:200].decode(errors="replace"))
                B.log("mezzanine quality: %s: %s" % (name, info["error"]))
                continue
            j = json.loads(body)
            w, h = j["width"], j["height"]
            info.update({"w": w, "h": h, "derivatives": sum(j.get(k) or 0 for k in (
                "thumbnailSize", "optimizedSize", "thumbnailJpegSize", "optimizedJpegSize"))})
            mz = os.path.join(data, "renders", hashlib.sha256(("mz-" + name).encode()).hexdigest(),
                              j["version"], "mezzanine.jpg")
            want = fitted(w, h, side, share)
            info["expected"] = want
            if os.path.exists(mz):
                info["mezzanine"] = {"bytes": os.path.getsize(mz), "w": header(mz, "width"), "h": header(mz, "height")}
            if not want:
                continue
            mw, mh = (info["mezzanine"]["w"], info["mezzanine"]["h"]) if "mezzanine" in info else want
            fit = [x for x in widths if x <= mw and round(x * h / w) <= mh]
            if quick and len(fit) > 2:
                fit = [fit[0], fit[-1]]
            files = {}
            for width in fit:
                for fmt, ext in FORMATS:
                    for kind, key in (("mezzanine", "mz-" + name), ("original", "og-" + name)):
                        before = B.render_sources(port)
                        path = "/render/%s?w=%d&fmt=%s" % (urllib.parse.quote(key), width, fmt)
                        st, _, body, dt = B.request(port, "GET", path, timeout=300)
                        src = came_from(before, B.render_sources(port))
                        row = {"image": name, "format": fmt, "width": width, "kind": kind, "status": st,
                               "source": src, "ms": dt * 1000}
                        if st == 200:
                            out = os.path.join(outd, "%s-%d-%s.%s" % (kind, width, name, ext))
                            with open(out, "wb") as f:
                                f.write(body)
                            row["bytes"] = len(body)
                            files[out] = row
                        else:
                            row["error"] = body[:200].decode(errors="replace")
                        R["rows"].append(row)
            B.log("mezzanine quality: %s: rendered %d widths x %d formats x 2 (%.0f s so far)"
                  % (name, len(fit), len(FORMATS), time.time() - t0))
            if files:
                pending.append(measure(ssim_bin, img_path, files))
                collect(pending, keep=1)
        R["alive"] = srv.alive()
    finally:
        srv.stop()
    collect(pending, keep=0)
    R["elapsed_s"] = time.time() - t0
    return R


def measure(ssim_bin, src, files):
    """Starts bench-ssim on one image's renders (outputs of one size next to each other, so its
    reference is resized once per size)."""
    paths = sorted(files, key=lambda p: (files[p]["width"], p))
    p = subprocess.Popen([ssim_bin, src] + paths, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return p, files


def collect(pending, keep):
    """Waits for all but the last `keep` bench-ssim runs and fills in their rows' SSIM."""
    while len(pending) > keep:
        p, files = pending.pop(0)
        out, err = p.communicate()
        for line in out.splitlines():
            path, w, h, _mode, ssim, _bg = line.split("\t")
            if path in files:
                files[path].update({"w": int(w), "h": int(h), "ssim": float(ssim)})
        if p.returncode:
            B.log("bench-ssim: %s" % err.strip()[-500:])


def pairs(R):
    """(image, format, width) -> {"mezzanine": row, "original": row}, in table order."""
    by = {}
    for r in R["rows"]:
        by.setdefault((r["image"], r["format"], r["width"]), {})[r["kind"]] = r
    order = {f: i for i, (f, _) in enumerate(FORMATS)}
    img = {i["image"]: n for n, i in enumerate(R["images"])}
    return sorted(by.items(), key=lambda kv: (img.get(kv[0][0], 0), order.get(kv[0][1], 9), kv[0][2]))


def verdict(m, o):
    """(passed, text) for one pair of renders."""
    if not m or not o or "ssim" not in m or "ssim" not in o:
        return False, "**not measured**"
    why = []
    if m["source"] != "mezzanine":
        why.append("mezzanine render's source: %s" % m["source"])
    if o["source"] != "original":
        why.append("original render's source: %s" % o["source"])
    if (m["w"], m["h"]) != (o["w"], o["h"]):
        why.append("sizes %dx%d vs %dx%d" % (m["w"], m["h"], o["w"], o["h"]))
    if m["ssim"] < o["ssim"] - SSIM_SLACK:
        why.append("SSIM %+.4f" % (m["ssim"] - o["ssim"]))
    r = m["bytes"] / o["bytes"] - 1
    if abs(r) > BYTES_SLACK:
        why.append("bytes %+.1f%%" % (100 * r))
    return (not why), ("pass" if not why else "**fail** (%s)" % "; ".join(why))


def markdown(R, command=None):
    L = []
    w = L.append
    w("## Renders from the mezzanine against renders from the original (issue 16)")
    w("")
    if R.get("quick"):
        w("**Quick run: three photos, two widths each; checks the harness only, do not quote.**")
        w("")
    w("Re-run alone: `%s` (%.0f s this time; part of `bench/run.sh`)."
      % (command or "python3 bench/mezzanine_quality.py --enlarger build/bench/enlarger --ssim build/bench/bench-ssim",
         R.get("elapsed_s", 0)))
    w("")
    w("Each photo is stored under two keys with the same bytes: `mz-` is processed first (POST /process writes "
      "its mezzanine, %s px box, at most %s%% of the pixels), `og-` never is. Every width of the default list (%s) that fits inside the "
      "mezzanine is rendered in each format from both, with enlarger's default settings; /metrics "
      "(`%s`) is read around each render to check the source it came from. Each render is compared with the "
      "original decoded at full size, oriented, 8-bit sRGB, resized with Lanczos3 to the render's own size "
      "(`bench/ssim.c`: SSIM on luma, 11x11 Gaussian window, sigma 1.5). pass = SSIM(mezzanine) >= "
      "SSIM(original) - %.3f, bytes within %.0f%%, each render from the source it should."
      % (R.get("side"), R.get("share", 100), ",".join(str(x) for x in R.get("widths", [])), B.RENDER_SOURCE_METRIC, SSIM_SLACK,
         100 * BYTES_SLACK))
    w("")
    w("| image | format | width | bytes original-render | bytes mezzanine-render | bytes ratio | "
      "SSIM original-render | SSIM mezzanine-render | delta | verdict |")
    w("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    n_ok = n = 0
    for (img, fmt, width), d in pairs(R):
        m, o = d.get("mezzanine"), d.get("original")
        ok, v = verdict(m, o)
        n += 1
        n_ok += ok

        def cell(r, k, f):
            return f % r[k] if r and k in r else (r.get("error", "n/a")[:60] if r else "n/a")

        ratio = "%.3f" % (m["bytes"] / o["bytes"]) if m and o and "bytes" in m and "bytes" in o else "n/a"
        delta = "%+.4f" % (m["ssim"] - o["ssim"]) if m and o and "ssim" in m and "ssim" in o else "n/a"
        w("| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s |" % (
            img, fmt, width, cell(o, "bytes", "%d"), cell(m, "bytes", "%d"), ratio, cell(o, "ssim", "%.4f"),
            cell(m, "ssim", "%.4f"), delta, v))
    w("")
    w("**%d of %d pass.**" % (n_ok, n))
    w("")
    w("Extra storage per photo: the mezzanine against the original and the four derivatives (`/process`'s "
      "thumbnails and optimized images, WebP and JPEG).")
    w("")
    w("| image | oriented size | original bytes | mezzanine | mezzanine / original | four derivatives bytes | "
      "mezzanine / derivatives |")
    w("| --- | --- | --- | --- | --- | --- | --- |")
    tot_m = tot_o = tot_d = 0
    for i in R["images"]:
        if "error" in i:
            w("| %s | | %d | %s | | | |" % (i["image"], i["bytes"], i["error"][:80]))
            continue
        mz = i.get("mezzanine")
        if mz:
            note = "%dx%d, %d bytes" % (mz["w"] or 0, mz["h"] or 0, mz["bytes"])
            exp = i.get("expected")
            if exp and (mz["w"], mz["h"]) != tuple(exp):
                note += " (**expected %dx%d**)" % tuple(exp)
            if not exp:
                note += " (**not expected: the photo fits the box, or it saves too few pixels**)"
            tot_m += mz["bytes"]
            tot_o += i["bytes"]
            tot_d += i["derivatives"]
            w("| %s | %dx%d | %d | %s | %.1f%% | %d | %.2fx |" % (
                i["image"], i["w"], i["h"], i["bytes"], note, 100 * mz["bytes"] / i["bytes"], i["derivatives"],
                mz["bytes"] / max(1, i["derivatives"])))
        else:
            note = "none (fits the box, or keeps over %d%% of its pixels)" % R.get("share", 100) if not i.get(
                "expected") else "**none written** (expected %dx%d)" % tuple(
                i["expected"])
            w("| %s | %dx%d | %d | %s | | %d | |" % (i["image"], i["w"], i["h"], i["bytes"], note, i["derivatives"]))
    if tot_o:
        w("| **photos with a mezzanine, total** | | %d | %d bytes | %.1f%% | %d | %.2fx |" % (
            tot_o, tot_m, 100 * tot_m / tot_o, tot_d, tot_m / max(1, tot_d)))
    w("")
    return "\n".join(L) + "\n"


def summary(R):
    rs = [verdict(d.get("mezzanine"), d.get("original"))[0] for _, d in pairs(R)]
    return sum(rs), len(rs)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    shared = os.path.join(os.path.dirname(root), "shared", "testdata")
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--enlarger", default=os.path.join(root, "build/bench/enlarger"), help="the Release binary")
    ap.add_argument("--ssim", default=os.path.join(root, "build/bench/bench-ssim"), help="bench-ssim binary")
    ap.add_argument("--photos", default=os.path.join(shared, "photos"), help="real camera photos (JPEG, HEIC)")
    ap.add_argument("--corpus", default=None, help="corpus folder (its JPEGs are used)")
    ap.add_argument("--work", default=os.path.join(root, "build/bench-mezzanine"), help="scratch folder (wiped)")
    ap.add_argument("--out", default=os.path.join(root, "build/bench-run/mezzanine-quality.md"))
    ap.add_argument("--defaults", default=os.path.join(root, "include/enlarger/defaults.h"))
    ap.add_argument("--side", type=int, help="the mezzanine's box when defaults.h has no ENL_MEZZANINE_SIDE")
    ap.add_argument("--quick", action="store_true", default=B.QUICK, help="three photos, two widths (BENCH_QUICK=1)")
    a = ap.parse_args()
    corpus = a.corpus
    if not corpus:
        corpus = os.path.join(shared, "corpus")
        if not os.path.isdir(corpus):
            corpus = os.path.join(root, "build/bench-corpus")
    widths, side, share, q = defaults(a.defaults)
    side = a.side or side
    if not side:
        sys.exit("mezzanine_quality: %s has no ENL_MEZZANINE_SIDE (a build without the mezzanine?); pass --side N"
                 % a.defaults)
    images = pick_images(a.photos, corpus, a.quick)
    if not images:
        sys.exit("mezzanine_quality: no photos in %s or %s" % (a.photos, corpus))
    R = run(a.enlarger, a.ssim, images, a.work, widths, side, share, a.quick)
    R["mezzanine_quality"] = q
    md = markdown(R)
    print(md)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        f.write(md)
    with open(os.path.splitext(a.out)[0] + ".json", "w") as f:
        json.dump(R, f, indent=1)
    ok, n = summary(R)
    B.log("mezzanine quality: %d of %d pass; wrote %s" % (ok, n, a.out))


if __name__ == "__main__":
    main()
