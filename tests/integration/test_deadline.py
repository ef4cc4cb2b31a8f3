"""EventBridge's clock (issue 3, point 3): an API destination gives up after 5 s, so a
/process of a 50 MP photo must answer within it on this 2-core machine; and work that
outlives a request the client gave up on still finishes, with the retry seeing it as
in flight (429) or done (200 duplicate), never running the pipeline twice."""

import json
import os
import socket
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from enl_harness import Server, check, done, eventbridge, need_tools, run  # noqa: E402

need_tools("vips")
EVENTBRIDGE_TIMEOUT_S = 5.0


def photo_50mp(path):
    """8660x5774 (50 MP) JPEG with camera-like noise, made by the vips CLI."""
    d = tempfile.mkdtemp(prefix="enl-50mp-")
    run("vips", "gaussnoise", f"{d}/n.v", "8660", "5774", "--mean", "128", "--sigma", "12")
    run("vips", "bandjoin_const", f"{d}/n.v", f"{d}/c.v", "90 200")
    run("vips", "cast", f"{d}/c.v", f"{d}/u.v", "uchar")
    run("vips", "copy", f"{d}/u.v", path + "[Q=85]")
    for f in ("n.v", "c.v", "u.v"):
        os.unlink(f"{d}/{f}")
    os.rmdir(d)
    with open(path, "rb") as f:
        return f.read()


def post_and_hang_up(srv, body, runs0):
    """Sends a /process request and closes the connection without reading the answer,
    as EventBridge does when its timeout fires: once the pipeline has started on it. (A
    request closed before the server has read it is never run, and its retry is a first
    delivery: not what this tests.)"""
    raw = body.encode()
    s = socket.create_connection(("127.0.0.1", srv.port))
    s.sendall(b"POST /process HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: " + str(len(raw)).encode() + b"\r\n\r\n" + raw)
    deadline = time.monotonic() + 30
    while (srv.metric("enlarger_process_pipeline_runs") or 0) <= runs0:
        if not check(time.monotonic() < deadline, "the hung-up request's pipeline started"):
            break
        time.sleep(0.01)
    s.close()


def main():
    tmp = tempfile.mkdtemp(prefix="enl-deadline-")
    big = photo_50mp(os.path.join(tmp, "big.jpg"))
    srv = Server()
    try:
        # 1. A 50 MP photo answers within EventBridge's 5 s.
        srv.put_original("shoot/fifty-mp.jpg", big)
        t0 = time.monotonic()
        st, _, body = srv.request("POST", "/process",
                                  eventbridge("originals", "shoot/fifty-mp.jpg"), timeout=30)
        secs = time.monotonic() - t0
        print(f"50 MP /process: {st} in {secs:.2f} s ({len(big)} bytes)")
        check(st == 200, f"50 MP /process answered 200 (got {st}: {body[:200]!r})")
        check(secs < EVENTBRIDGE_TIMEOUT_S, f"50 MP /process within 5 s (took {secs:.2f} s)")
        item = srv.row("shoot/fifty-mp.jpg")
        check(item and item["processingStatus"] == "completed"
              and item["width"] == 8660 and item["height"] == 5774,
              f"50 MP item completed with its size: {dict(item or {})}")

        # 2. The client hangs up at once; the work goes on, and the retry sees it.
        srv.put_original("shoot/hung-up.jpg", big)
        ev = eventbridge("originals", "shoot/hung-up.jpg", sequencer="617f0829932a0000")

        runs0 = srv.metric("enlarger_process_pipeline_runs") or 0
        post_and_hang_up(srv, json.dumps(ev), runs0)
        seen = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            st, hdr, body = srv.request("POST", "/process", ev, timeout=30)
            seen.append(st)
            if st == 200:
                break
            check(st == 429 and "retry-after" in hdr,
                  f"a retry while the first is in flight gets 429 + Retry-After (got {st})")
            time.sleep(0.1)
        outcome = json.loads(body).get("outcome") if seen and seen[-1] == 200 else None
        print(f"retries saw {seen}, outcome {outcome}")
        check(seen and seen[-1] == 200, f"the retry ends in 200 (saw {seen})")
        # Whether the retry arrived while the work ran (429 then duplicate) or after
        # it (duplicate at once), the first request's work is what completed.
        check(outcome == "duplicate", f"the retry is a duplicate of the hung-up one ({outcome})")
        runs = (srv.metric("enlarger_process_pipeline_runs") or 0) - runs0
        check(runs == 1, f"the pipeline ran once for the hung-up request and its retries ({runs})")
        item = srv.row("shoot/hung-up.jpg")
        check(item and item["processingStatus"] == "completed", "the hung-up photo completed")
        check(srv.stop() == 0, "server exits 0 on SIGTERM")
    finally:
        srv.cleanup()
        for f in os.listdir(tmp):
            os.unlink(os.path.join(tmp, f))
        os.rmdir(tmp)
    done()


main()
