#!/usr/bin/env python3
"""Checks bench/ssim.c against scikit-image's SSIM (Debian python3-skimage), the oracle.

    bench/check-ssim.py BENCH_SSIM_BINARY SOURCE OUTPUT...

For each output, builds the same reference bench-ssim does (vips resize, Lanczos3, to the
output's size; cover outputs are skipped since the crop search is bench-ssim's own), takes
luma with the same Rec. 601 weights, and compares bench-ssim's figure with
skimage.metrics.structural_similarity (gaussian_weights, sigma 1.5, no sample covariance,
data_range 255: Wang et al. 2004). Fails when they differ by more than 0.002.
Not run by bench/run.sh: a one-off check of the harness itself.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
from skimage.metrics import structural_similarity


def luma_of(path, w=None, h=None, src_size=None):
    """Luma of an image via the vips CLI (optionally resized to w x h) as a float array."""
    with tempfile.TemporaryDirectory() as d:
        cur = path
        if w:
            sw, sh = src_size
            cur = os.path.join(d, "r.v")
            subprocess.run(["vips", "resize", path, cur, str(w / sw), "--vscale", str(h / sh),
                            "--kernel", "lanczos3"], check=True)
        raw = os.path.join(d, "x.raw")
        subprocess.run(["vips", "rawsave", cur, raw], check=True)
        ww = int(subprocess.check_output(["vipsheader", "-f", "width", cur]))
        hh = int(subprocess.check_output(["vipsheader", "-f", "height", cur]))
        bands = int(subprocess.check_output(["vipsheader", "-f", "bands", cur]))
        a = np.fromfile(raw, dtype=np.uint8).reshape(hh, ww, bands).astype(np.float64)
    return 0.299 * a[..., 0] + 0.587 * a[..., 1] + 0.114 * a[..., 2]


def main():
    binary, src, outs = sys.argv[1], sys.argv[2], sys.argv[3:]
    # an upright, 8-bit sRGB copy of the source (what bench-ssim resizes from)
    with tempfile.TemporaryDirectory() as d:
        up = os.path.join(d, "src.v")
        subprocess.run(["vips", "autorot", src, up], check=True)
        sw = int(subprocess.check_output(["vipsheader", "-f", "width", up]))
        sh = int(subprocess.check_output(["vipsheader", "-f", "height", up]))
        got = subprocess.run([binary, src] + outs, capture_output=True, text=True, check=True).stdout
        bad = checked = 0
        for line in got.splitlines():
            path, w, h, mode, ssim, _ = line.split("\t")
            if mode != "fit":
                continue
            ref = luma_of(up, int(w), int(h), (sw, sh))
            out = luma_of(path)
            oracle = structural_similarity(out, ref, data_range=255, gaussian_weights=True, sigma=1.5,
                                           use_sample_covariance=False)
            ok = abs(oracle - float(ssim)) <= 0.002
            checked += 1
            bad += not ok
            print("%s %s: bench-ssim %.5f, skimage %.5f %s" % ("ok " if ok else "BAD", os.path.basename(path),
                                                             float(ssim), oracle, mode))
    print("%d passed, %d failed" % (checked - bad, bad))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
