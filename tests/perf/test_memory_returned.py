"""Memory a large job freed goes back to the kernel (ENL_TRIM_AFTER_JOB_BYTES): after three
/process runs of a 24 MP JPEG, one at a time, the server's RSS is back near where it was
before them, well below their peak. Without it, glibc keeps the freed pages in its arenas
and the RSS after the runs stays at most of the peak, and grows from run to run."""

import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import enl_harness as H  # noqa: E402

MiB = 1 << 20
RUNS = 3


H.need_tools("vips", "vipsheader")
if not H.BINARY or not os.path.exists(H.BINARY):
    print("skip: ENL_BINARY is not built")
    sys.exit(77)
TMP = tempfile.mkdtemp(prefix="enl-memret-")
srv = None
try:
    # 6000 x 4000, which /process decodes whole.
    big = H.make_enlarged_noise(os.path.join(TMP, "big.jpg"), 1500, 1000, 4, "[Q=90]")
    small = H.make_enlarged_noise(os.path.join(TMP, "small.jpg"), 1500, 1000, 0.2)
    hdr = H.vipsheader(os.path.join(TMP, "big.jpg"))
    H.check(hdr[0] * hdr[1] >= 24_000_000, f"not 24 MP: {hdr}")

    srv = H.Server(ENLARGER_LOG_LEVEL="warn", ENLARGER_WATCH="0")
    pid = srv.proc.pid
    with open(f"/proc/{pid}/maps") as f:
        sanitized = "libasan" in f.read()  # its RSS is shadow memory and quarantine
    srv.put_original("small.jpg", small)
    st, _, _ = srv.request("GET", H.render_path("small.jpg", w=64, fmt="webp"))
    H.check(st == 200, f"warm-up render answered {st}")
    base = H.proc_status_bytes(pid, "VmRSS")

    after = []
    for i in range(RUNS):
        key = f"big-{i}.jpg"
        srv.put_original(key, big)
        st, _, res = H.process(srv, {"bucket": "originals", "key": key}, {}, 200, key)
        H.check(res is not None and res.get("width") == hdr[0],
                f"{key}: /process answered {res}")
        time.sleep(0.3)  # the connection's own buffers are gone by then
        after.append(H.proc_status_bytes(pid, "VmRSS"))
    peak = H.proc_status_bytes(pid, "VmHWM")
    print(f"RSS before {base / MiB:.0f} MiB, peak {peak / MiB:.0f} MiB, after each run "
          f"{', '.join(f'{a / MiB:.0f}' for a in after)} MiB", flush=True)
    H.check(peak > base, "no peak above the baseline: the runs did not decode")
    if not sanitized:
        left = after[-1] - base
        H.check(left < 0.35 * (peak - base),
                f"RSS after {RUNS} runs +{left / MiB:.0f} MiB over the baseline, against a peak "
                f"of +{(peak - base) / MiB:.0f} MiB: freed pages were kept")
finally:
    if srv:
        srv.stop()
        srv.cleanup()
    shutil.rmtree(TMP, ignore_errors=True)
H.done()
