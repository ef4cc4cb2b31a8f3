"""The memory budget (ENLARGER_MEMORY_BUDGET_MB) under abuse: 8 concurrent renders of a
100 MP JPEG, and of a 24 MP PNG with alpha, with 8 job slots. Every answer is 200 (a WebP
of the asked width) or 503 with Retry-After, the server lives on, and its peak RSS (VmHWM)
stays under the budget plus the baseline of the same server after a small render. With a
budget smaller than one job the renders run one at a time, so the peak is clearly lower:
the budget, not the slots, is what bounds memory."""

import os
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import enl_harness as H  # noqa: E402

MiB = 1 << 20
# An ASan build's RSS is its quarantine and shadow memory, not the budget's: the answers
# are still checked, the peaks only printed.
SANITIZED = [False]


def run_case(big, budget_mb, widths, name="big.jpg"):
    srv = H.Server(ENLARGER_JOBS=8, ENLARGER_QUEUE_DEPTH=16,
                   ENLARGER_MEMORY_BUDGET_MB=budget_mb, ENLARGER_LOG_LEVEL="warn",
                   ENLARGER_RENDER_WIDTHS=",".join(str(w) for w in [64] + widths))
    try:
        with open(os.path.join(TMP, "small.jpg"), "rb") as f:
            srv.put_original("small.jpg", f.read())
        st, _, _ = srv.request("GET", H.render_path("small.jpg", w=64, fmt="webp"))
        H.check(st == 200, f"budget {budget_mb}: warm-up render answered {st}")
        base = H.proc_status_bytes(srv.proc.pid, "VmHWM")
        with open(f"/proc/{srv.proc.pid}/maps") as f:
            SANITIZED[0] = "libasan" in f.read()
        srv.put_original(name, big)
        results = [None] * len(widths)

        def one(i):
            st, hd, body = srv.request("GET", H.render_path(name, w=widths[i], fmt="webp"),
                                       timeout=90)
            results[i] = (st, hd, body)

        t0 = time.time()
        ths = [threading.Thread(target=one, args=(i,)) for i in range(len(widths))]
        for t in ths:
            t.start()
        for t in ths:
            t.join()
        took = time.time() - t0
        peak = H.proc_status_bytes(srv.proc.pid, "VmHWM")
        ok = 0
        for w, (st, hd, body) in zip(widths, results):
            if st == 200:
                hdr = H.vipsheader(body)
                H.check(hdr[0] == w and hdr[2].startswith("webp"),
                        f"budget {budget_mb}: w={w} gave {hdr}")
                ok += 1
            else:
                H.check(st == 503 and "retry-after" in hd,
                        f"budget {budget_mb}: w={w} answered {st} {hd}")
        st, _, _ = srv.request("GET", "/healthz")
        H.check(st == 200 and srv.proc.poll() is None, f"budget {budget_mb}: server died")
        print(f"{name}, budget {budget_mb} MiB: baseline {base / MiB:.0f} MiB, "
              f"peak {peak / MiB:.0f} MiB (+{(peak - base) / MiB:.0f}), "
              f"{ok}/{len(widths)} rendered in {took:.1f} s",
              flush=True)
        return base, peak, ok
    finally:
        srv.stop()
        srv.cleanup()


H.need_tools("vips", "vipsheader")
if not H.BINARY or not os.path.exists(H.BINARY):
    print("skip: ENL_BINARY is not built")
    sys.exit(77)
TMP = tempfile.mkdtemp(prefix="enl-mem-")
try:
    # 12000 x 8400 = 100.8 MP: noise at 1/8, enlarged, so the JPEG is neither trivial
    # nor huge (about 20 MB at Q90).
    big = H.make_enlarged_noise(os.path.join(TMP, "big.jpg"), 1500, 1050, 8, "[Q=90]")
    H.make_enlarged_noise(os.path.join(TMP, "small.jpg"), 1500, 1050, 0.2)
    hdr = H.vipsheader(os.path.join(TMP, "big.jpg"))
    print(f"original: {hdr[0]}x{hdr[1]}, {len(big) / MiB:.1f} MiB", flush=True)
    H.check(hdr[0] * hdr[1] >= 100_000_000, f"not 100 MP: {hdr}")

    widths = [400 + i for i in range(8)]  # distinct variants: no single-flight sharing
    budget = 200
    base, peak, ok = run_case(big, budget, widths)
    H.check(ok >= 1, "nothing rendered under the 200 MiB budget")
    H.check(SANITIZED[0] or peak <= base + budget * MiB,
            f"peak RSS {peak / MiB:.0f} MiB over baseline {base / MiB:.0f} + budget {budget}")

    # A budget below one job's cost: one at a time (a job larger than the budget runs
    # alone), so far less memory at once than with 8 slots filled.
    tbase, tpeak, tok = run_case(big, 1, widths)
    H.check(tok == len(widths), f"a 1 MiB budget should serialise, not refuse: {tok} rendered")
    H.check(SANITIZED[0] or tpeak - tbase < 0.6 * (peak - base),
            f"serialised peak +{(tpeak - tbase) / MiB:.0f} MiB is not clearly below "
            f"+{(peak - base) / MiB:.0f} MiB with the 200 MiB budget")

    # A PNG with alpha goes through vips_thumbnail, which holds strips of whole lines in
    # float (about 100 MB for 6000 px wide): its estimate must count them, or 8 such
    # renders run at once, far over the budget.
    H.run("vips", "black", os.path.join(TMP, "b.v"), "6000", "4000", "--bands", "4")
    H.run("vips", "cast", os.path.join(TMP, "b.v"), os.path.join(TMP, "alpha.png"), "uchar")
    with open(os.path.join(TMP, "alpha.png"), "rb") as f:
        png = f.read()
    pbase, ppeak, pok = run_case(png, budget, widths, "alpha.png")
    H.check(pok >= 1, "no alpha PNG rendered under the 200 MiB budget")
    H.check(SANITIZED[0] or ppeak <= pbase + budget * MiB,
            f"alpha PNG: peak RSS {ppeak / MiB:.0f} MiB over baseline {pbase / MiB:.0f} + "
            f"budget {budget}")
finally:
    import shutil
    shutil.rmtree(TMP, ignore_errors=True)
H.done()
