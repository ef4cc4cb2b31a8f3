"""The Lambda door (issue 14): the real binary driven by a fake runtime API
(fake_runtime.py, loopback), on either backend:

  test_lambda.py                  folders + SQLite, label integration
  test_lambda.py --backend aws    S3 + DynamoDB stand-ins (s3rver + dynalite), label aws

Cases: EventBridge events (processed, duplicate, stale; a classic notification and
{"bucket","key"} too), each error class (rejected, busy, backend: aws only, deadline),
function URL requests routed as the server routes them (/render with its image in the
base64 body, HEAD, 304, /process with its API key, /healthz, 400 / 404 / 405 / 413, the
6 MB limit), the invocation ids in the log lines, one invocation at a time, a start-up
failure reported to /runtime/init/error, and the exit when the runtime API goes away.

Oracles: the derivatives and items read with the backend's own client (botocore for
the stand-ins, files + sqlite3 for the local backend), images checked with vipsheader
and exiftool, responses against api/openapi.yaml."""

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.parse

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "aws"))
sys.path.insert(0, HERE)
from enl_harness import (AwsBackend, OpenAPI, add_gps, check, done, eventbridge,  # noqa: E402
                         gps_tags, make_image, need_tools, pipeline_runs, s3_record,
                         standins_or_skip, vipsheader, write_file)
import enl_harness  # noqa: E402
from lambda_fn import LambdaFn, url_event  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--backend", choices=["local", "aws"], default="local")
ARGS = ap.parse_args()
need_tools("vips", "vipsheader", "exiftool")

API_KEY = "lambda-test-key-0123456789"
TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
api = OpenAPI()
tmp = tempfile.mkdtemp(prefix="enl-lambda-img-")


def image(name, w, h, gps=False, ext=".jpg"):
    path = os.path.join(tmp, name + ext)
    data = make_image(path, w, h)
    return add_gps(path) if gps else data


def quote_path(key):
    return "/render/" + urllib.parse.quote(key, safe="/")


def url(fn, method, raw_path, query="", headers=None, body=None, expect=None, what="",
        **kw):
    """A function URL request, its answer checked against the OpenAPI spec."""
    st, h, data, j = fn.url(method, raw_path, query, headers, body, **kw)
    spec_path = urllib.parse.unquote(raw_path) + ("?" + query if query else "")
    for err in api.check(method, spec_path, st, h, data):
        check(False, f"openapi: {what or raw_path}: {err}")
    if expect is not None:
        check(st == expect, f"{what or raw_path}: status {st} != {expect}: {data[:300]!r}")
    return st, h, data, j


def error_of(r, etype, what):
    """r is an invocation error of type etype, in the body and in the header."""
    ok = check(r.kind == "error", f"{what}: an invocation error, not {r}")
    if ok:
        body = r.json()
        check(body.get("errorType") == etype, f"{what}: errorType {body} != {etype}")
        check(r.error_type == etype, f"{what}: Lambda-Runtime-Function-Error-Type "
              f"{r.error_type!r} != {etype}")
        check(isinstance(body.get("errorMessage"), str) and body["errorMessage"],
              f"{what}: an errorMessage: {body}")
        return body
    return {}


# ---- EventBridge events ----------------------------------------------------------------

def events_processed(fn):
    """An EventBridge "Object Created" event: the derivatives, the item, the log's ids."""
    key = "trips/gps photo+é 1.jpg"
    orig = image("gps", 3000, 2000, gps=True)
    etag = fn.put_original(key, orig)
    inv = fn.rt.submit(eventbridge("originals", key, "00F1"), trace_id=TRACE)
    check(inv.done.wait(120), "processed: answered")
    r = inv.result
    check(r.kind == "response", f"processed: a response: {r}")
    res = r.json() if r.kind == "response" else {}
    check(res.get("outcome") == "processed", f"outcome processed: {res}")
    # The answer is POST /process's 200 body: the spec's ProcessResult.
    for err in api.check("POST", "/process", 200, {"content-type": "application/json"},
                         r.body):
        check(False, f"openapi: event result: {err}")
    row = fn.row(key)
    check(row and row["processingStatus"] == "completed" and row["width"] == 3000 and
          row["etag"] == etag and row["sequencer"].endswith("00F1"), f"item: {row}")
    expect = {"thumbnailKey": ("thumbnails", 200, 200, "webp"),
              "thumbnailJpegKey": ("thumbnails", 200, 200, "jpeg"),
              "optimizedKey": ("optimized", 1620, 1080, "webp"),
              "optimizedJpegKey": ("optimized", 1620, 1080, "jpeg")}
    for field, (bucket, w, h, fmt) in expect.items():
        got = fn.backend.get_object(bucket, row[field]) if row and row[field] else None
        if not check(got is not None, f"{field} stored"):
            continue
        path = write_file(tmp, "ev-" + field, got[0])
        gw, gh, loader = vipsheader(path)
        check((gw, gh) == (w, h) and fmt in loader, f"{field}: {gw}x{gh} {loader}")
        check(got[1] == "image/" + fmt, f"{field}: Content-Type {got[1]}")
        check(not gps_tags(path), f"{field}: no GPS")
    # The invocation's ids on the service's own lines, and on nobody else's.
    lines = [l for l in fn.log_lines() if l.get("awsRequestId") == inv.id]
    msgs = {l.get("msg") for l in lines}
    check({"pipeline run", "photo processed", "invocation"} <= msgs,
          f"the invocation's lines carry its request id: {msgs}")
    check(all(l.get("traceId") == TRACE for l in lines), "each carries the trace id")
    check(not any(l.get("awsRequestId") for l in fn.log_lines()
                  if l.get("msg") == "waiting for invocations"), "no ids outside it")
    return key


def events_idempotent(fn, key):
    """The same event again (Lambda and EventBridge deliver at least once): duplicate; an
    older sequencer: stale; no work either time."""
    runs = pipeline_runs(fn)[key]
    r = fn.invoke(eventbridge("originals", key, "00F1"))
    check(r.kind == "response" and r.json().get("outcome") == "duplicate",
          f"duplicate: {r}")
    r = fn.invoke(eventbridge("originals", key, "00A0"))
    check(r.kind == "response" and r.json().get("outcome") == "stale", f"stale: {r}")
    check(pipeline_runs(fn)[key] == runs, "duplicate and stale did no work")


def events_other_shapes(fn):
    """A classic S3 notification and {"bucket","key"} (aws lambda invoke) work too."""
    small = image("small", 640, 480)
    fn.put_original("classic/a b.jpg", small + b"1")
    r = fn.invoke(s3_record("originals", "classic/a b.jpg"))
    check(r.kind == "response" and r.json().get("outcome") == "processed",
          f"classic notification: {r}")
    fn.put_original("simple.jpg", small + b"2")
    r = fn.invoke({"bucket": "originals", "key": "simple.jpg"})
    check(r.kind == "response" and r.json().get("outcome") == "processed",
          f"simple event: {r}")
    check((fn.row("simple.jpg") or {}).get("processingStatus") == "completed", "simple row")


def events_replaced_and_deleted(fn):
    """A replacement and a delete through the Lambda door: the old objects are gone before
    the function asks for its next invocation (Lambda freezes it after that), and a
    delete of a photo without an item creates none."""
    key = "life/lambda photo.jpg"
    fn.put_original(key, image("life1", 900, 600))
    r = fn.invoke(eventbridge("originals", key, "0010"))
    check(r.kind == "response" and r.json().get("outcome") == "processed", f"v1: {r}")
    v1 = fn.row(key) or {}
    url(fn, "GET", quote_path(key), "w=300&fmt=webp", expect=200,
        what="v1 render")
    old = [(b, v1.get(f)) for b, f in (("thumbnails", "thumbnailKey"),
                                       ("optimized", "optimizedKey"))]
    check(all(k for _, k in old) and all(fn.backend.get_object(b, k) for b, k in old),
          f"v1 derivatives stored: {old}")

    def answered_then_next(event, what):
        inv = fn.rt.submit(event)
        check(inv.done.wait(120), f"{what}: answered")
        # The next GET /next comes only once the invocation's cleanups have run.
        deadline = time.time() + 60
        while time.time() < deadline and not (
                fn.rt.next_calls and fn.rt.next_calls[-1] > inv.answered_at):
            time.sleep(0.01)
        check(fn.rt.next_calls[-1] > inv.answered_at, f"{what}: the next is asked for")
        return inv.result

    fn.put_original(key, image("life2", 700, 500))
    r = answered_then_next(eventbridge("originals", key, "0020"), "replacement")
    check(r.kind == "response" and r.json().get("outcome") == "processed", f"v2: {r}")
    v2 = fn.row(key) or {}
    check(v2.get("thumbnailKey") != v1.get("thumbnailKey"), "v2 has its own keys")
    check(not any(fn.backend.get_object(b, k) for b, k in old),
          "v1's derivatives were deleted before the next invocation")
    check(fn.backend.get_object("thumbnails", v2.get("thumbnailKey")) is not None,
          "v2's thumbnail stays")
    url(fn, "GET", quote_path(key), "w=300&fmt=webp", expect=200,
        what="v2 render")

    fn.backend.delete_original(key)
    r = answered_then_next(eventbridge("originals", key, "0030", deleted=True), "delete")
    check(r.kind == "response" and r.json().get("outcome") == "deleted", f"delete: {r}")
    row = fn.row(key) or {}
    check(row.get("processingStatus") == "deleted" and not row.get("thumbnailKey"),
          f"item marked deleted: {row}")
    check(fn.backend.get_object("thumbnails", v2.get("thumbnailKey")) is None,
          "v2's derivatives deleted")
    check(not fn.backend.list_keys("renders", hashlib.sha256(key.encode()).hexdigest() + "/"),
          "the render variants were deleted before the next invocation")

    r = fn.invoke(eventbridge("originals", "life/never.jpg", "0040", deleted=True))
    check(r.kind == "response" and r.json().get("outcome") == "deleted" and
          "processingStatus" not in r.json(), f"delete without an item: {r}")
    check(fn.row("life/never.jpg") is None, "no item created for a delete")


def events_rejected(fn):
    """Events and images that can never work: Enlarger.Rejected. Lambda's retry of a
    rejected image gets the same error from the table, without a second decode."""
    fn.put_original("corrupt.jpg", b"\xff\xd8\xff\xe0" + os.urandom(4000))
    ev = eventbridge("originals", "corrupt.jpg", "00C1")
    body = error_of(fn.invoke(ev), "Enlarger.Rejected", "corrupt image")
    row = fn.row("corrupt.jpg")
    check(row and row["processingStatus"] == "failed" and row["processingError"],
          f"corrupt: item failed with a reason: {row}")
    body2 = error_of(fn.invoke(ev), "Enlarger.Rejected", "retry of the corrupt image")
    check(row and row["processingError"] in body2.get("errorMessage", ""),
          f"the retry quotes the stored reason: {body2} / {row and row['processingError']}")
    check(pipeline_runs(fn)["corrupt.jpg"] == 1, "the retry did not decode again")
    for event, what in [(b"hello", "not JSON"), ({"hello": 1}, "not an event"),
                        ({"bucket": "elsewhere", "key": "x.jpg"}, "wrong bucket"),
                        (eventbridge("originals", "missing.jpg"), "no original"),
                        (b"", "empty event")]:
        error_of(fn.invoke(event), "Enlarger.Rejected", what)


def events_busy(fn):
    """A photo another attempt holds (a live lease): Enlarger.Busy, retried by Lambda."""
    small = image("small", 640, 480)
    etag = fn.put_original("inflight.jpg", small + b"busy")
    fn.backend.seed_item("inflight.jpg", "processing", etag, "other-attempt",
                         int(time.time() * 1000) + 600000)
    error_of(fn.invoke(eventbridge("originals", "inflight.jpg", "00D1")), "Enlarger.Busy",
             "in flight")
    row = fn.row("inflight.jpg")
    check(row and row["processingStatus"] == "processing" and row["attempt"] ==
          "other-attempt", f"the other attempt keeps the photo: {row}")


def events_backend(fn, st):
    """S3 down: Enlarger.Backend within the AWS call limits; fine again once it is up."""
    small = image("small", 640, 480)
    fn.put_original("backend.jpg", small + b"down")
    st.stop_s3()
    try:
        t0 = time.monotonic()
        error_of(fn.invoke(eventbridge("originals", "backend.jpg", "00E1")),
                 "Enlarger.Backend", "S3 down")
        check(time.monotonic() - t0 < 15, "the backend error came within the call limits")
    finally:
        st.start_s3()

    # Back as a client sees it: s3rver serves the object whole again (its ETag the MD5 of
    # its body) before Lambda's retry goes out. A CI run once had the retry refuse it three
    # times as changed while it was read, right after the restart.
    def whole():
        try:
            o = fn.backend.s3.get_object(Bucket="originals", Key="backend.jpg")
            return o["ETag"].strip('"') == hashlib.md5(o["Body"].read()).hexdigest()
        except Exception:
            return False
    enl_harness.wait_until("s3rver serves backend.jpg whole after its restart", whole, 15)
    r = fn.invoke(eventbridge("originals", "backend.jpg", "00E1"))
    check(r.kind == "response" and r.json().get("outcome") == "processed",
          f"Lambda's retry after S3 is back: {r}")


def deadline(fn):
    """Too little time left: refused at once (retryable), before anything is read or
    claimed; a request that runs no image job still runs."""
    small = image("small", 640, 480)
    fn.put_original("late.jpg", small + b"late")
    soon = lambda: int(time.time() * 1000) + 1500  # noqa: E731 - under the 10 s reserve
    t0 = time.monotonic()
    body = error_of(fn.invoke(eventbridge("originals", "late.jpg", "00F9"), deadline_ms=soon()),
                    "Enlarger.Deadline", "event near its deadline")
    check(time.monotonic() - t0 < 1.5, "refused before the deadline")
    check("ENLARGER_LAMBDA_RESERVE_MS" in body.get("errorMessage", ""), "names the setting")
    check(fn.row("late.jpg") is None, "nothing claimed")
    check(pipeline_runs(fn)["late.jpg"] == 0, "nothing decoded")
    st, h, data, _ = url(fn, "GET", "/render/late.jpg", "w=100", deadline_ms=soon(),
                         expect=503, what="render near its deadline")
    check(int(h.get("retry-after", "0")) >= 1, "the 503 has Retry-After")
    check(b"ENLARGER_LAMBDA_RESERVE_MS" in data, "the 503 names the setting")
    url(fn, "GET", "/healthz", deadline_ms=soon(), expect=200, what="healthz near deadline")
    # With the time there, the same event goes through (Lambda's retry).
    r = fn.invoke(eventbridge("originals", "late.jpg", "00F9"))
    check(r.kind == "response" and r.json().get("outcome") == "processed", f"retry: {r}")


# ---- function URL requests -----------------------------------------------------------

def url_render(fn):
    """GET /render through the function URL: the image base64 in the body with its
    headers; the cache; HEAD; 304; fmt=auto."""
    key = "render/pic one+é.jpg"
    fn.put_original(key, image("render", 3000, 2000))
    raw = quote_path(key)
    st, h, data, j = url(fn, "GET", raw, "w=400&fmt=webp", expect=200, what="render miss")
    check(j.get("isBase64Encoded") is True, "an image comes base64")
    w, hh, loader = vipsheader(data)
    check((w, hh) == (400, 267) and "webp" in loader, f"decoded: {w}x{hh} {loader}")
    check(h.get("content-type") == "image/webp" and h.get("x-cache") == "miss", f"{h}")
    check(h.get("cache-control") == "public, max-age=300", f"cache-control, no v: {h}")
    check(bool(h.get("x-request-id")), "X-Request-Id")
    st, h2, data2, _ = url(fn, "GET", raw, "w=400&fmt=webp", expect=200, what="render hit")
    check(h2.get("x-cache") == "hit" and data2 == data, "the second is a hit, same bytes")
    check(any(k.endswith(".webp") for k in fn.backend.list_keys("renders")),
          "the variant is in the render bucket")
    st, h3, data3, j3 = url(fn, "HEAD", raw, "w=400&fmt=webp", expect=200, what="HEAD")
    check(data3 == b"" and h3.get("content-length") == str(len(data)),
          f"HEAD: no body, the body's Content-Length: {h3}")
    url(fn, "GET", raw, "w=400&fmt=webp", headers={"If-None-Match": h["etag"]}, expect=304,
        what="revalidation")
    st, h4, data4, _ = url(fn, "GET", raw, "w=300",
                           headers={"Accept": "image/avif,image/webp,*/*"}, expect=200,
                           what="fmt=auto")
    check(h4.get("content-type") == "image/avif" and h4.get("vary") == "Accept" and
          vipsheader(data4)[:2] == (300, 200), f"auto picks AVIF: {h4}")
    url(fn, "GET", "/render/missing.jpg", "w=100", expect=404, what="render missing")
    url(fn, "GET", raw, "w=0", expect=400, what="bad w")


def url_too_large(fn):
    """A variant the function URL cannot carry (6 MB with base64): a 502 problem, never
    a cut image; what the runtime API got stays under its limit."""
    fn.put_original("noise.png", image("noise", 2400, 1600, ext=".png"))
    st, h, data, j = url(fn, "GET", "/render/noise.png", "w=2400&fmt=png", expect=502,
                         what="too large")
    prob = json.loads(data) if data else {}
    check(prob.get("type", "").endswith("/response-too-large") and prob.get("requestId"),
          f"the problem says why: {prob}")
    check(len(json.dumps(j)) < 6 * 1024 * 1024, "the answer fits the payload")
    st, h, data, _ = url(fn, "GET", "/render/noise.png", "w=600&fmt=png", expect=200,
                         what="smaller fits")
    check(vipsheader(data)[:2] == (600, 400), "the smaller variant decodes")


def url_process(fn):
    """POST /process through the function URL, with its API key, as EventBridge would
    send it to the server."""
    small = image("small", 640, 480)
    fn.put_original("url/proc.jpg", small + b"url")
    ev = eventbridge("originals", "url/proc.jpg", "0101")
    st, h, data, _ = url(fn, "POST", "/process", body=ev,
                         headers={"Content-Type": "application/json"}, expect=401,
                         what="no key")
    check("www-authenticate" in h, "401 says which header")
    st, h, data, _ = url(fn, "POST", "/process", body=ev,
                         headers={"Content-Type": "application/json", "X-Api-Key": API_KEY},
                         expect=200, what="with key")
    check(json.loads(data).get("outcome") == "processed", f"processed: {data[:200]!r}")
    # A body the function URL base64-encodes arrives the same.
    st, h, data, _ = url(fn, "POST", "/process", body=json.dumps(ev).encode(), b64=True,
                         headers={"x-api-key": API_KEY}, expect=200, what="base64 body")
    check(json.loads(data).get("outcome") == "duplicate", "the base64 body was decoded")
    # One marked base64 that is not: a 400 settled as every answer is (fuzz_lambda).
    st, h, data, _ = url(fn, "POST", "/process", body="not base64!", b64=True,
                         headers={"x-api-key": API_KEY}, expect=400, what="bad base64 body")
    prob = json.loads(data) if data else {}
    check("base64" in prob.get("detail", "") and prob.get("requestId") and
          h.get("x-request-id") == prob["requestId"],
          f"the problem says why, with the request id: {h} {prob}")
    url(fn, "POST", "/process", body=b"{" + b" " * 5000 + b"}",
        headers={"x-api-key": API_KEY}, expect=413, what="body over the limit")


def url_routing(fn):
    """The server's routing and decoding rules: 404, 405 with Allow, 400 for a bad
    percent-encoding, X-Request-Id kept or the Lambda request id."""
    st, h, data, j = url(fn, "GET", "/healthz", expect=200, what="healthz")
    check(json.loads(data) == {"status": "ok"} and j.get("isBase64Encoded") is False,
          "JSON comes as text")
    st, h, _, _ = fn.url("GET", "/nope")
    check(st == 404 and h.get("content-type", "").startswith("application/problem+json"),
          f"404: {st} {h}")
    st, h, _, _ = fn.url("POST", "/healthz")
    check(st == 405 and "GET" in h.get("allow", ""), f"405 with Allow: {st} {h}")
    st, _, data, _ = fn.url("GET", "/render/%zz.jpg", "w=100")
    check(st == 400 and b"percent-encoding" in data, f"bad path encoding: {st} {data!r}")
    st, _, data, _ = fn.url("GET", "/render/a.jpg", "w=%zz")
    check(st == 400 and b"query" in data, f"bad query encoding: {st} {data!r}")
    st, h, _, _ = fn.url("GET", "/healthz", headers={"X-Request-Id": "trace-me-1"})
    check(h.get("x-request-id") == "trace-me-1", f"X-Request-Id kept: {h}")
    inv = fn.rt.submit(url_event("GET", "/healthz"))
    inv.done.wait(30)
    check(inv.result and inv.id in inv.result.body.decode(),
          "without X-Request-Id the request id is Lambda's")


# ---- start, stop -----------------------------------------------------------------------

def init_failures(backend):
    """Start-up failures go to /runtime/init/error, a bad setting by its name."""
    fn = LambdaFn(backend, args=["lambda"], wait_ready=False, ENLARGER_JPEG_QUALITY="0")
    try:
        rc = fn.wait_exit()
        check(rc == 2, f"bad configuration exits 2, not {rc}")
        errs = fn.rt.init_errors
        check(len(errs) == 1, f"one init error: {errs}")
        if errs:
            etype, body = errs[0]
            body = json.loads(body)
            check(etype == "Enlarger.InitError" and body.get("errorType") == etype,
                  f"init error type: {etype} {body}")
            check("ENLARGER_JPEG_QUALITY" in body.get("errorMessage", ""),
                  f"names the variable: {body}")
        check(not fn.rt.next_calls, "no next after a failed start")
    finally:
        fn.cleanup()
    fn = LambdaFn(backend, wait_ready=False, ENLARGER_BACKEND="local",
                  ENLARGER_SQLITE_PATH="/proc/enlarger/photos.db")
    try:
        rc = fn.wait_exit()
        errs = fn.rt.init_errors
        check(rc == 1 and len(errs) == 1 and b"ENLARGER_SQLITE_PATH" in errs[0][1],
              f"a table that cannot open: exit 1 and its init error: {rc} {errs}")
    finally:
        fn.cleanup()


def main_suite(backend, st=None):
    # The widths the /render requests below ask for (the default list has none of 100, 400, 2400).
    fn = LambdaFn(backend, ENLARGER_PROCESS_API_KEY=API_KEY, ENLARGER_MAX_BODY_BYTES=4096,
                  ENLARGER_RENDER_WIDTHS="100,300,400,600,2400")
    try:
        print(f"first next {fn.wait_ready():.0f} ms after exec", flush=True)
        key = events_processed(fn)
        events_idempotent(fn, key)
        events_other_shapes(fn)
        events_replaced_and_deleted(fn)
        events_rejected(fn)
        events_busy(fn)
        if st:
            events_backend(fn, st)
        deadline(fn)
        url_render(fn)
        url_too_large(fn)
        url_process(fn)
        url_routing(fn)
        check(not fn.rt.violations, f"one invocation at a time: {fn.rt.violations}")
        rc = fn.stop()
        check(rc == 1, f"the runtime API gone: exit 1, not {rc}")
        log = fn.read_log()
        check("AddressSanitizer" not in log and "LeakSanitizer" not in log, "sanitizers")
        check(any(l.get("msg") == "runtime API failed; exiting" for l in fn.log_lines()),
              "says why it exits")
    finally:
        if enl_harness.FAILURES:
            print(fn.read_log()[-6000:])
        fn.cleanup()


def main():
    if ARGS.backend == "local":
        main_suite(None)
        init_failures(None)
        print("skip on local: the backend failure case (S3 stand-in stopped) runs on aws",
              flush=True)
    else:
        with standins_or_skip() as st:
            backend = AwsBackend(st)
            main_suite(backend, st)
            init_failures(backend)
    shutil.rmtree(tmp, ignore_errors=True)
    done()


main()
