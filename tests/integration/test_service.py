"""Integration tests for the HTTP service (issues 3 and 4): the real binary, real HTTP,
real objects, on either backend:

  test_service.py                 the embedded default (folders + SQLite), label integration
  test_service.py --backend aws   S3 + DynamoDB stand-ins (s3rver + dynalite, started and
                                  stopped here by tests/aws/standins.py), label aws

Oracles: vipsheader for stored images, exiftool for "no GPS in any output", the backend
read independently (files + sqlite3, or botocore; never enlarger's code) for objects,
their Content-Type and Cache-Control, and the photo items, api/openapi.yaml for the
responses. The folder watcher and SQLite file specifics run on the local backend only;
the AWS faults are in tests/aws/test_aws_faults.py."""

import argparse

import collections
import concurrent.futures
import functools
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "aws"))
import enl_harness as harness  # noqa: E402
from enl_harness import (AwsBackend, Server, add_gps, call, check, done,  # noqa: E402
                         eventbridge, exif_tags, gps_tags, make_image, need_tools,
                         pipeline_runs, pixel_bomb_png, render_path, s3_record,
                         standins_or_skip, vipsheader, write_file)

ap = argparse.ArgumentParser()
ap.add_argument("--backend", choices=["local", "aws"], default="local")
ARGS = ap.parse_args()
need_tools("vips", "vipsheader", "exiftool")

KEY = "test-key-0123456789"
AUTH = {"x-api-key": KEY}
tmp = tempfile.mkdtemp(prefix="enl-it-img-")


def process(srv, body, expect=200, what="", headers=AUTH):
    return harness.process(srv, body, headers, expect, what)


def process_retrying(srv, body, headers=AUTH, tries=120):
    """As EventBridge does: retry 429 and 5xx after Retry-After."""
    for _ in range(tries):
        st, h, data = srv.request("POST", "/process", body, headers, timeout=120)
        if st not in (429, 500, 503, 504):
            return st, data
        time.sleep(min(float(h.get("retry-after", "1")), 2) * 0.25)
    return st, data


def image(name, w, h, gps=False, ext=".jpg"):
    path = os.path.join(tmp, name + ext)
    data = make_image(path, w, h)
    if gps:
        data = add_gps(path)
    return data


DERIVATIVES = {"thumbnailKey": "thumbnails", "thumbnailJpegKey": "thumbnails",
               "optimizedKey": "optimized", "optimizedJpegKey": "optimized"}


def derivative(srv, row, field):
    """(bytes, Content-Type, Cache-Control) of the derivative row[field] names, or None."""
    return srv.backend.get_object(DERIVATIVES[field], row[field]) if row[field] else None


def as_file(data, name):
    return write_file(tmp, name, data)


# =====================================================================================
# The main suite: one server, the sections below in this order (later ones count on what
# earlier ones stored: the render sections on the first render, the memory gauge on the
# renders before it).

RKEY = "render/pic one+é.jpg"
RENDER_PATH = render_path(RKEY, w=200, fmt="webp")


@functools.lru_cache(maxsize=None)
def small_photo():
    """A 640x480 JPEG the sections vary by appending bytes (made once)."""
    return image("small", 640, 480)


def operations(srv):
    """/healthz, /readyz naming the backends, /metrics, 404 and 405."""
    local = srv.backend.name == "local"
    st, _, body = call(srv, "GET", "/healthz", expect=200)
    check(json.loads(body) == {"status": "ok"}, "healthz body")
    st, _, body = call(srv, "GET", "/readyz", expect=200)
    ready = json.loads(body)
    check(ready.get("store") == srv.backend.store_name, f"readyz names the store: {ready}")
    check(ready.get("table") == ("sqlite" if local else "dynamodb"),
          f"readyz names the table: {ready}")
    st, h, body = call(srv, "GET", "/metrics", expect=200)
    check(h["content-type"].startswith("text/plain"), "metrics content type")
    # Off the spec's paths on purpose: status and problem body only.
    st, h, _ = srv.request("POST", "/healthz", b"")
    check(st == 405 and "GET" in h.get("allow", ""), f"405 with Allow: {st} {h}")
    st, h, _ = srv.request("GET", "/nope")
    check(st == 404 and h["content-type"].startswith("application/problem+json"), "404 route")


def photo_with_gps(srv):
    """One photo with GPS: the four derivatives, the item, no GPS in any output."""
    local = srv.backend.name == "local"
    orig = image("gps", 3000, 2000, gps=True)
    check("GPS:GPSLatitude" in exif_tags(os.path.join(tmp, "gps.jpg")), "fixture has GPS")
    etag = srv.put_original("trips/gps photo.jpg", orig)
    st, h, res = process(srv, {"bucket": "originals", "key": "trips/gps photo.jpg"},
                         what="process gps photo")
    check(res and res.get("outcome") == "processed", f"outcome processed: {res}")
    row = srv.row("trips/gps photo.jpg")
    check(row is not None and row["processingStatus"] == "completed", f"row completed: {row}")
    if row:
        check(row["width"] == 3000 and row["height"] == 2000, "row width/height")
        check(row["fileSize"] == len(orig), "row fileSize")
        check(row["etag"] == etag, "row etag = MD5 of the original")
        check(row["cameraMake"] == "TestCam" and row["cameraModel"] == "T1",
              "row cameraMake/cameraModel")
        check(row["gpsLatitude"] is not None and abs(row["gpsLatitude"] - 48.8584) < 1e-3
              and abs(row["gpsLongitude"] - 2.2945) < 1e-3, f"row gps {row}")
        gps = (res or {}).get("gps") or {}
        check(abs(gps.get("latitude", 0) - 48.8584) < 1e-3, f"response gps {gps}")
        check(row["blurhash"] and row["dominantColor"].startswith("#"), "placeholders")
        check(etag in row["thumbnailKey"], "derivative keys carry the original's version")
        expect = {"thumbnailKey": (200, 200, "webp"), "thumbnailJpegKey": (200, 200, "jpeg"),
                  "optimizedKey": (1620, 1080, "webp"),
                  "optimizedJpegKey": (1620, 1080, "jpeg")}
        size_field = {"thumbnailKey": "thumbnailSize", "thumbnailJpegKey": "thumbnailJpegSize",
                      "optimizedKey": "optimizedSize", "optimizedJpegKey": "optimizedJpegSize"}
        for field in DERIVATIVES:
            got = derivative(srv, row, field)
            if not check(got is not None, f"{field} stored at {row[field]!r}"):
                continue
            data, ctype, cache = got
            path = as_file(data, "deriv-" + field)
            w, hh, loader = vipsheader(path)
            ew, eh, fmt = expect[field]
            check((w, hh) == (ew, eh), f"{field}: {w}x{hh} != {ew}x{eh}")
            check(fmt in loader, f"{field}: loader {loader} is not {fmt}")
            check(ctype == "image/" + fmt, f"{field}: Content-Type {ctype!r}")
            check(cache == "public, max-age=31536000, immutable",
                  f"{field}: Cache-Control {cache!r}")
            check(len(data) == row[size_field[field]], f"{field} size in row")
            left = gps_tags(path)
            check(not left, f"{field}: GPS in output: {left}")

    if not local:
        # The types DynamoDB stores, read back raw: numbers as N, GPS as a map of N.
        raw = srv.backend.raw_item("trips/gps photo.jpg") or {}
        check(raw.get("width") == {"N": "3000"} and raw.get("fileSize") ==
              {"N": str(len(orig))}, f"width/fileSize stored as N: {raw.get('width')}")
        gm = raw.get("gps", {}).get("M", {})
        check(set(gm) >= {"latitude", "longitude"} and
              all(set(v) == {"N"} for v in gm.values()), f"gps is a map of N: {gm}")
        check("leaseUntil" not in raw and "attempt" in raw,
              "a completed item keeps its attempt and no lease")


def photo_id_from_metadata(srv):
    """The photo id from the original's user metadata `photo-id`."""
    small = small_photo()
    srv.put_original("meta/with id.jpg", small + b"meta", {"photo-id": "gallery-42"})
    process(srv, {"bucket": "originals", "key": "meta/with id.jpg"}, what="photo-id meta")
    r = srv.row("gallery-42")
    check(r is not None and r["processingStatus"] == "completed" and
          r["objectKey"] == "meta/with id.jpg", f"item under the photo-id metadata: {r}")
    check(srv.row("meta/with id.jpg") is None, "no item under the key")
    check(r is not None and r["thumbnailKey"] and "gallery-42" in r["thumbnailKey"],
          f"derivative keys from the photo id: {r and r['thumbnailKey']}")


def odd_keys(srv):
    """Keys with spaces, '+', '%', accents through every event shape; S3 event keys are
    URL-decoded once ('+' a space), so "a+b.jpg" in an event never names "a+b.jpg"."""
    small = small_photo()
    odd = ["My Trip/café 100% +1.jpg", "plus+sign.jpg", "per%cent%20.jpg", "été/ñandú.jpg"]
    for i, k in enumerate(odd):
        srv.put_original(k, small + bytes([i]))
    process(srv, eventbridge("originals", odd[0], "0A", encode=True), what="EB encoded key")
    process(srv, eventbridge("originals", odd[1], "0A", encode=True), what="EB encoded '+' key")
    process(srv, s3_record("originals", odd[2]), what="S3 record encoded key")
    process(srv, {"bucket": "originals", "key": odd[3]}, what="simple accented key")
    for k in odd:
        r = srv.row(k)
        check(r is not None and r["processingStatus"] == "completed", f"odd key {k!r}: {r}")
        if r:
            check(derivative(srv, r, "thumbnailKey") is not None,
                  f"odd key {k!r}: thumbnail stored")
    # Both "x+y.jpg" and "x y.jpg" exist: an event naming "x+y.jpg" unencoded means
    # "x y.jpg", and only that one is processed.
    srv.put_original("x+y.jpg", small + b"plus")
    srv.put_original("x y.jpg", small + b"space")
    st, _, res = process(srv, eventbridge("originals", "x+y.jpg", "0B", encode=False),
                         what="EB '+' means a space")
    check(res and res.get("objectKey") == "x y.jpg", f"'+' decoded to a space: {res}")
    check(srv.row("x+y.jpg") is None, "the key with a literal '+' was not processed")
    # A lone '%' is not URL-encoded text, and a control character is refused in every form.
    st, _, _ = call(srv, "POST", "/process", eventbridge("originals", "50% off.jpg", "0C",
                                                        encode=False), AUTH, 400, "lone %")
    for body, what in [(eventbridge("originals", "a%00b.jpg", "0D", encode=False), "EB %00"),
                       (eventbridge("originals", "a\x01b.jpg", "0D"), "EB control"),
                       (s3_record("originals", "a\nb.jpg"), "record newline"),
                       ({"bucket": "originals", "key": "a\x7fb.jpg"}, "simple DEL"),
                       ({"bucket": "originals", "key": "a\x00b.jpg"}, "simple NUL")]:
        st, _, data = call(srv, "POST", "/process", body, AUTH, 400, what)
        check(b"control character" in data or b"NUL" in data, f"{what}: says why: {data!r}")


def bad_requests(srv):
    """Malformed bodies, the wrong bucket, a missing original, 413 and the API key."""
    for body, what in [(b"{not json", "malformed JSON"), (b"", "empty body"),
                       (b'{"bucket":"originals","key":"a","key":"b"}', "duplicate member"),
                       (b'{"hello":1}', "not an event")]:
        st, h, data = call(srv, "POST", "/process", body, AUTH, 400, what)
        check(h.get("content-type", "").startswith("application/problem+json"),
              f"{what}: problem JSON")
    st, _, data = call(srv, "POST", "/process", {"bucket": "elsewhere", "key": "x.jpg"}, AUTH,
                       400, "wrong bucket")
    check(b"originals" in data, "wrong bucket names the expected bucket")
    call(srv, "POST", "/process", {"bucket": "originals", "key": "nope.jpg"}, AUTH, 404,
         "missing original")
    call(srv, "POST", "/process", b"{" + b" " * 70000 + b"}", AUTH, 413, "oversized body")
    call(srv, "POST", "/process", {"bucket": "originals", "key": "x.jpg"}, {}, 401, "no key")
    call(srv, "POST", "/process", {"bucket": "originals", "key": "x.jpg"},
         {"x-api-key": KEY + "x"}, 401, "wrong key")
    call(srv, "POST", "/process", {"bucket": "originals", "key": "x.jpg"},
         {"x-api-key": KEY[:-1]}, 401, "prefix of the key")


def failed_images(srv):
    """A corrupt image and a pixel bomb: 422 and the item failed; a retry does no work."""
    srv.put_original("corrupt.jpg", b"\xff\xd8\xff\xe0" + os.urandom(4000))
    st, _, data = call(srv, "POST", "/process", {"bucket": "originals", "key": "corrupt.jpg"},
                       AUTH, 422, "corrupt image")
    r = srv.row("corrupt.jpg")
    check(r and r["processingStatus"] == "failed" and r["processingError"],
          f"corrupt: row failed with a reason: {r}")
    bomb = pixel_bomb_png()
    check(len(bomb) < 1024 * 1024, "bomb is small")
    srv.put_original("bomb.png", bomb)
    st, _, data = call(srv, "POST", "/process", {"bucket": "originals", "key": "bomb.png"},
                       AUTH, 422, "pixel bomb")
    r = srv.row("bomb.png")
    check(r and r["processingStatus"] == "failed", f"bomb: row failed: {r}")
    # A retry of a failed photo does no work, and ends as the first attempt did: 422, so
    # an event whose first answer timed out still reaches EventBridge's dead-letter queue.
    runs = pipeline_runs(srv)["bomb.png"]
    st, _, res = process(srv, {"bucket": "originals", "key": "bomb.png"}, expect=422,
                         what="retry of a failed photo")
    check(r["processingError"] in (res or {}).get("detail", ""),
          f"the retry quotes the stored reason: {res}")
    check(pipeline_runs(srv)["bomb.png"] == runs, "the retry of a failed photo did no work")


def idempotency(srv):
    """Duplicate, older and newer sequencers."""
    small = small_photo()
    srv.put_original("seq.jpg", small + b"seq")
    process(srv, eventbridge("originals", "seq.jpg", "00A1"), what="first event")
    runs_before = pipeline_runs(srv)["seq.jpg"]
    st, _, res = process(srv, eventbridge("originals", "seq.jpg", "00A1"), what="duplicate")
    check(res and res["outcome"] == "duplicate", f"duplicate outcome: {res}")
    st, _, res = process(srv, eventbridge("originals", "seq.jpg", "0099"), what="older")
    check(res and res["outcome"] == "stale", f"stale outcome: {res}")
    check(pipeline_runs(srv)["seq.jpg"] == runs_before, "duplicate/stale did no work")
    check(srv.row("seq.jpg")["sequencer"].endswith("00A1"), "older event changed nothing")
    st, _, res = process(srv, eventbridge("originals", "seq.jpg", "00B0"), what="newer")
    check(res and res["outcome"] == "processed", "newer sequencer processed again")
    check(pipeline_runs(srv)["seq.jpg"] == runs_before + 1, "newer event ran once")


def in_flight(srv):
    """A photo being processed elsewhere: 429 with Retry-After."""
    small = small_photo()
    inflight = small + b"inflight"
    etag_if = srv.put_original("inflight.jpg", inflight)
    srv.backend.seed_item("inflight.jpg", "processing", etag_if, "other-attempt",
                          int(time.time() * 1000) + 600000)
    st, h, _ = call(srv, "POST", "/process", {"bucket": "originals", "key": "inflight.jpg"},
                    AUTH, 429, "in flight")
    check(int(h.get("retry-after", "0")) >= 1, "429 has Retry-After")


def burst_of_100(srv):
    """100 at once: all completed, none lost, none twice."""
    base = image("burst", 800, 600)
    keys = [f"burst/photo {i:03d}.jpg" for i in range(100)]
    for i, k in enumerate(keys):
        srv.put_original(k, base + i.to_bytes(2, "big"))
    runs0 = srv.metric("enlarger_process_pipeline_runs") or 0
    t0 = time.time()
    with concurrent.futures.ThreadPoolExecutor(100) as pool:
        results = list(pool.map(
            lambda k: process_retrying(srv, eventbridge("originals", k, "01")), keys))
    statuses = collections.Counter(st for st, _ in results)
    check(statuses == {200: 100}, f"burst: statuses {dict(statuses)}")
    done_rows = sum(1 for k in keys
                    if (srv.row(k) or {}).get("processingStatus") == "completed")
    check(done_rows == 100, f"burst: {done_rows} of 100 completed")
    runs = pipeline_runs(srv)
    twice = [k for k in keys if runs[k] != 1]
    check(not twice, f"burst: processed other than once: {twice[:5]}")
    check((srv.metric("enlarger_process_pipeline_runs") or 0) - runs0 == 100,
          "burst: pipeline-run metric +100")
    print(f"burst of 100 took {time.time() - t0:.1f}s", flush=True)


def slow_client(srv):
    """A client trickling its body is cut off; the server stays healthy."""
    s = socket.create_connection(("127.0.0.1", srv.port))
    s.sendall(b"POST /process HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"x-api-key: " + KEY.encode() + b"\r\nContent-Length: 500\r\n\r\n")
    t0 = time.time()
    cut = False
    healthy = True
    s.settimeout(0.5)
    while time.time() - t0 < 15:
        try:
            s.sendall(b" ")
            got = s.recv(4096)
            if got == b"" or got.startswith(b"HTTP/1.1 4") or got.startswith(b"HTTP/1.1 5"):
                cut = True
                break
        except socket.timeout:
            pass
        except OSError:
            cut = True
            break
        st, _, _ = srv.request("GET", "/healthz", timeout=2)
        healthy = healthy and st == 200
    s.close()
    check(cut and time.time() - t0 < 10, f"slow client cut after {time.time() - t0:.1f}s")
    check(healthy, "healthz answered while a client trickled")


def render_cache(srv):
    """Miss, hit, 304, If-None-Match mismatch and HEAD; returns the first ETag."""
    p = RENDER_PATH
    srv.put_original(RKEY, image("r1", 600, 400))
    st, h1, b1 = call(srv, "GET", p, expect=200, what="render miss")
    check(h1.get("x-cache") == "miss", "first render is a miss")
    check(h1.get("content-type") == "image/webp", "render content type")
    check(h1.get("cache-control") == "public, max-age=300", "no v: the unversioned max-age")
    check(vipsheader(b1)[:2] == (200, 133), f"render dims {vipsheader(b1)}")
    st, h2, b2 = call(srv, "GET", p, expect=200, what="render hit")
    check(h2.get("x-cache") == "hit" and b2 == b1 and h2["etag"] == h1["etag"], "cache hit")
    call(srv, "GET", p, headers={"If-None-Match": h1["etag"]}, expect=304, what="304")
    call(srv, "GET", p, headers={"If-None-Match": '"other"'}, expect=200, what="INM mismatch")
    st, hh, bh = call(srv, "HEAD", p, expect=200, what="HEAD render")
    check(bh == b"" and hh.get("etag") == h1["etag"], "HEAD: no body, same ETag")
    return h1["etag"]


def render_sizes_and_formats(srv):
    """Never upscales, cover, and fmt=auto following Accept."""
    st, _, b = call(srv, "GET", render_path(RKEY, w=800, fmt="png"), expect=200, what="no up")
    check(vipsheader(b)[:2] == (600, 400), f"never upscales: {vipsheader(b)}")
    st, _, b = call(srv, "GET", render_path(RKEY, w=100, h=100, fit="cover", fmt="jpeg"),
                    expect=200, what="cover")
    check(vipsheader(b)[:2] == (100, 100), f"cover 100x100: {vipsheader(b)}")
    # auto negotiation
    for accept, ctype in [("image/avif,image/webp,*/*", "image/avif"),
                          ("image/webp,*/*", "image/webp"), ("*/*", "image/jpeg")]:
        st, h, b = call(srv, "GET", render_path(RKEY, w=100), headers={"Accept": accept},
                        expect=200, what=f"auto {accept}")
        check(h.get("content-type") == ctype, f"auto {accept} -> {h.get('content-type')}")
        check(h.get("vary") == "Accept", "auto answers Vary: Accept")


def render_errors(srv):
    """Parameter errors name the parameter; 404 and 422."""
    st, _, b = call(srv, "GET", render_path(RKEY, w=300), expect=400, what="width not allowed")
    check(b"100, 200, 400, 800" in b, f"400 lists the widths: {b!r}")
    st, _, b = call(srv, "GET", render_path(RKEY, fmt="webp"), expect=400, what="no w")
    check(b"parameter w" in b, "names w")
    st, _, b = call(srv, "GET", render_path(RKEY, w=100, fmt="gif"), expect=400, what="bad fmt")
    check(b"parameter fmt" in b, "names fmt")
    st, _, b = call(srv, "GET", render_path(RKEY, w=100, fit="fill"), expect=400, what="fit")
    call(srv, "GET", render_path("missing.jpg", w=100), expect=404, what="render missing")
    srv.put_original("corrupt-r.jpg", b"\xff\xd8\xff" + os.urandom(500))
    call(srv, "GET", render_path("corrupt-r.jpg", w=100), expect=422, what="render corrupt")


def render_coalescing(srv):
    """Identical misses at once are rendered once."""
    r0 = srv.metric("enlarger_render_pipeline_runs")
    p400 = render_path(RKEY, w=400, fmt="png")
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        outs = list(pool.map(lambda _: srv.request("GET", p400), range(8)))
    check(all(o[0] == 200 for o in outs), "8 identical misses all 200")
    check(len({o[2] for o in outs}) == 1, "8 identical misses got the same bytes")
    check(srv.metric("enlarger_render_pipeline_runs") - r0 == 1,
          f"identical misses rendered once ({srv.metric('enlarger_render_pipeline_runs') - r0})")


def render_replaced_original(srv, first_etag):
    """A replaced original is re-rendered, never served stale. /render itself never lists
    or deletes: the old version's variants stay until the replacement's cleanup (after a
    POST /process of the new version) or the bucket's lifecycle rule (docs/keys.md)."""
    p = RENDER_PATH
    rprefix = hashlib.sha256(RKEY.encode()).hexdigest() + "/"
    old_variants = srv.backend.list_keys("renders", rprefix)
    check(len(old_variants) >= 5, f"variants stored in the render bucket: {old_variants}")
    for k in old_variants[:1]:
        _, ctype, cache = srv.backend.get_object("renders", k)
        check(ctype and ctype.startswith("image/"), f"render object Content-Type {ctype!r}")
        check(cache == "public, max-age=31536000, immutable",
              f"render object Cache-Control {cache!r}")
    srv.put_original(RKEY, image("r2", 400, 400))
    st, h3, b3 = call(srv, "GET", p, expect=200, what="render after replace")
    check(h3["etag"] != first_etag, "replaced original: new ETag")
    check(vipsheader(b3)[:2] == (200, 200), f"replaced original rendered: {vipsheader(b3)}")
    call(srv, "GET", p, headers={"If-None-Match": first_etag}, expect=200,
         what="old ETag no longer 304")
    now_variants = srv.backend.list_keys("renders", rprefix)
    left = sorted(set(old_variants) & set(now_variants))
    check(left == sorted(old_variants), f"/render deleted old variants: {left}")
    check(len(now_variants) == len(old_variants) + 1,
          f"the new variant is stored beside them: {now_variants}")


def vips_memory_metrics(srv):
    """libvips memory in /metrics after renders and during one."""
    peak = srv.metric("enlarger_vips_memory_peak_bytes")
    now = srv.metric("enlarger_vips_memory_bytes")
    check(peak is not None and peak > 0, f"libvips peak memory after renders: {peak}")
    check(now is not None and 0 <= now <= peak, f"libvips memory now: {now} (peak {peak})")
    # While a large render runs, the current value is above zero (libvips frees it all
    # when the job ends: the operation cache is off in a server).
    big = make_image(os.path.join(tmp, "mem.png"), 5000, 4000, "[compression=1]")
    srv.put_original("mem.png", big)
    samples = []
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        fut = pool.submit(srv.request, "GET", render_path("mem.png", w=400, fmt="png"))
        while not fut.done():
            samples.append(srv.metric("enlarger_vips_memory_bytes") or 0)
            time.sleep(0.005)
        check(fut.result()[0] == 200, "large render for the memory gauge")
    check(max(samples, default=0) > 0,
          f"libvips memory above 0 during a render: max {max(samples, default=0)} "
          f"over {len(samples)} samples")


def json_numbers(srv):
    """JSON numbers print short: 5.9, not 5.9000000000000004 (/process and the CLI)."""
    fpath = os.path.join(tmp, "fnum.jpg")
    make_image(fpath, 300, 200)
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-FNumber=5.9",
                    "-FocalLength=5.9", "-GPSLatitude=0.1", "-GPSLatitudeRef=N",
                    "-GPSLongitude=0.7", "-GPSLongitudeRef=E", fpath], check=True)
    with open(fpath, "rb") as f:
        srv.put_original("fnum.jpg", f.read())
    st, _, raw = call(srv, "POST", "/process", {"bucket": "originals", "key": "fnum.jpg"}, AUTH,
                      200, "process fNumber 5.9")
    check(b'"fNumber":5.9,' in raw or b'"fNumber":5.9}' in raw, f"fNumber printed 5.9: {raw!r}")
    check(b'"latitude":0.1,' in raw or b'"latitude":0.1}' in raw, f"latitude 0.1: {raw!r}")
    check(b"000000000" not in raw, f"no float noise in /process: {raw!r}")
    out = subprocess.run([os.environ["ENL_BINARY"], "process", fpath, "--out",
                          os.path.join(tmp, "cli-out")], capture_output=True, check=True).stdout
    check(b'"fNumber": 5.9,' in out and b"000000000" not in out,
          f"`enlarger process` prints fNumber 5.9: {out!r}")


def sqlite_file_location(srv):
    """The photo table's file is outside every bucket folder (local backend)."""
    local = srv.backend.name == "local"
    check(not local or os.path.exists(os.path.join(srv.data, ".table", "photos.db")) and
          not os.path.exists(os.path.join(srv.data, "photos.db")),
          f"SQLite file at data/.table/photos.db: {os.listdir(srv.data)}")


def sigterm(srv):
    """SIGTERM: exit 0, "stopping" logged, and the API key never logged."""
    logs_before = srv.read_log()
    rc = srv.stop(signal.SIGTERM)
    check(rc == 0, f"SIGTERM exit code {rc}")
    check(KEY not in logs_before, "the API key never appears in the logs")
    logs = srv.log_lines()
    check(any(l.get("msg") == "stopping" for l in logs), "logged stopping")


def main_suite(backend):
    srv = Server(backend, ENLARGER_PROCESS_API_KEY=KEY, ENLARGER_MAX_BODY_BYTES=65536,
                 ENLARGER_CONNECTION_TIMEOUT=3, ENLARGER_RENDER_WIDTHS="100,200,400,800",
                 ENLARGER_QUEUE_DEPTH=256)
    try:
        operations(srv)
        photo_with_gps(srv)
        photo_id_from_metadata(srv)
        odd_keys(srv)
        bad_requests(srv)
        failed_images(srv)
        idempotency(srv)
        in_flight(srv)
        burst_of_100(srv)
        slow_client(srv)
        first_etag = render_cache(srv)
        render_sizes_and_formats(srv)
        render_errors(srv)
        render_coalescing(srv)
        render_replaced_original(srv, first_etag)
        vips_memory_metrics(srv)
        json_numbers(srv)
        sqlite_file_location(srv)
        sigterm(srv)
    finally:
        srv.cleanup()


# ---- queue full: 503 with Retry-After (one job, no queue) -------------------------------
def queue_full(backend):
    """Queue full: 503 with Retry-After (one job, no queue)."""
    srv = Server(backend, ENLARGER_JOBS=1, ENLARGER_QUEUE_DEPTH=0,
                 ENLARGER_RENDER_WIDTHS="101,102,103,104,105,106")
    try:
        srv.put_original("big.png", make_image(os.path.join(tmp, "big.png"), 4000, 3000))
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            outs = list(pool.map(lambda w: srv.request(
                "GET", render_path("big.png", w=w, fmt="png")), [101, 102, 103, 104, 105, 106]))
        sts = collections.Counter(o[0] for o in outs)
        check(sts.get(503, 0) >= 1 and sts.get(200, 0) >= 1, f"queue full gives 503: {sts}")
        for st, h, b in outs:
            if st == 503:
                check(int(h.get("retry-after", "0")) >= 1, "503 has Retry-After")
                for err in harness.api().check("GET", "/render/big.png", st, h, b):
                    check(False, "openapi 503: " + err)
        check(srv.stop() == 0, "second server exits 0")
    finally:
        srv.cleanup()


def bad_configuration():
    """Start-up fails naming the variable, before touching any backend."""
    for env in [{"ENLARGER_THUMBNAILS_BUCKET": "My_Thumbs"},
                {"ENLARGER_RENDER_BUCKET": "originals"},
                {"ENLARGER_ORIGINALS_BUCKET": "10.0.0.1"},
                # No local originals folder on aws: an explicit watcher is refused.
                {"ENLARGER_WATCH": "1", "ENLARGER_BACKEND": "aws"}]:
        var = next(iter(env))
        r = subprocess.run([os.environ["ENL_BINARY"], "serve"], capture_output=True, timeout=30,
                           env=dict(os.environ, ENLARGER_LISTEN="127.0.0.1:0", **env,
                                    ENLARGER_DATA_DIR=os.path.join(tmp, "never")))
        check(r.returncode == 2 and var.encode() in r.stderr,
              f"{env}: exit {r.returncode}, {r.stderr[-300:]!r}")
    check(not os.path.exists(os.path.join(tmp, "never")), "bad configuration creates nothing")


def closed_by_default():
    """On a non-loopback address `serve` refuses to start without both secrets, naming the
    variable, unless ENLARGER_ALLOW_OPEN=1 (then it warns at start and on /readyz); short
    secrets are refused; a rotation's previous key and secret are accepted too."""
    key, origin = "current-key-0123456789", "current-origin-0123456789"
    old_key, old_origin = "previous-key-0123456789", "previous-origin-0123456789"
    for env, named, not_named in [
            ({}, ["ENLARGER_PROCESS_API_KEY", "ENLARGER_ORIGIN_SECRET"], []),
            ({"ENLARGER_PROCESS_API_KEY": key}, ["ENLARGER_ORIGIN_SECRET"],
             ["ENLARGER_PROCESS_API_KEY "]),
            ({"ENLARGER_ORIGIN_SECRET": origin}, ["ENLARGER_PROCESS_API_KEY"],
             ["ENLARGER_ORIGIN_SECRET "]),
            ({"ENLARGER_PROCESS_API_KEY": key, "ENLARGER_ORIGIN_SECRET": "too-short"},
             ["ENLARGER_ORIGIN_SECRET must be at least 16 bytes"], ["too-short"])]:
        for listen in ["0.0.0.0:0", "[::]:0"]:
            r = subprocess.run([os.environ["ENL_BINARY"], "serve"], capture_output=True,
                               timeout=30,
                               env=dict(os.environ, ENLARGER_LISTEN=listen, **env,
                                        ENLARGER_DATA_DIR=os.path.join(tmp, "never")))
            check(r.returncode == 2 and all(n.encode() in r.stderr for n in named) and
                  not any(n.encode() in r.stderr for n in not_named),
                  f"{listen} {sorted(env)}: exit {r.returncode}, {r.stderr[-400:]!r}")
    check(not os.path.exists(os.path.join(tmp, "never")), "a refused start creates nothing")

    # Open on purpose: it starts, says so in the log and on every /readyz.
    srv = Server(host="0.0.0.0", ENLARGER_ALLOW_OPEN=1, ENLARGER_PROCESS_API_KEY=key)
    try:
        warn = [l for l in srv.log_lines() if l.get("msg", "").startswith("serving open")]
        check(len(warn) == 1 and warn[0].get("empty") == ["ENLARGER_ORIGIN_SECRET"] and
              warn[0].get("level") in ("warn", "warning"), f"start-up warning: {warn}")
        st, _, body = srv.request("GET", "/readyz")
        w = json.loads(body).get("warnings") if st == 200 else None
        check(w and len(w) == 1 and "ENLARGER_ORIGIN_SECRET" in w[0] and
              "ENLARGER_ALLOW_OPEN" in w[0], f"/readyz warns: {st} {body[:300]!r}")
        check(srv.stop() == 0, "open server exits 0")
    finally:
        srv.cleanup()

    # Closed, in the middle of a rotation: current and previous both work, nothing else.
    srv = Server(host="0.0.0.0", ENLARGER_PROCESS_API_KEY=key,
                 ENLARGER_PROCESS_API_KEY_PREVIOUS=old_key, ENLARGER_ORIGIN_SECRET=origin,
                 ENLARGER_ORIGIN_SECRET_PREVIOUS=old_origin)
    try:
        st, _, body = srv.request("GET", "/readyz")
        check(st == 200 and "warnings" not in json.loads(body), f"/readyz: {st} {body!r}")
        srv.put_original("rot.jpg", make_image(os.path.join(tmp, "rot.jpg"), 400, 300))
        ev = {"bucket": "originals", "key": "rot.jpg"}
        for k, want in [(key, 200), (old_key, 200), (origin, 401), (old_key + "x", 401),
                        (None, 401)]:
            st, _, body = srv.request("POST", "/process", ev,
                                      {"x-api-key": k} if k else {})
            check(st == want, f"/process with key {k!r}: {st}, want {want}: {body[:200]!r}")
        for s_, want in [(origin, 200), (old_origin, 200), (key, 401), (None, 401)]:
            st, _, body = srv.request("GET", "/render/rot.jpg?w=128",
                                      headers={"x-origin-secret": s_} if s_ else {})
            check(st == want, f"/render with secret {s_!r}: {st}, want {want}")
        check(srv.stop() == 0, "closed server exits 0")
    finally:
        srv.cleanup()


def folder_watcher():
    """Local backend only: files landing in the originals folder are processed."""
    srv = Server(ENLARGER_WATCH=1)
    try:
        time.sleep(0.3)
        data = make_image(os.path.join(tmp, "w.jpg"), 900, 600)
        srv.put_original("drop zone/renamed in.jpg", data)  # temp + rename (IN_MOVED_TO)
        direct = os.path.join(srv.data, "originals", "written directly.jpg")
        with open(direct, "wb") as f:  # IN_CLOSE_WRITE
            f.write(data + b"x")
        with open(os.path.join(srv.data, "originals", ".hidden.jpg"), "wb") as f:
            f.write(data)
        deadline = time.time() + 30
        want = ["drop zone/renamed in.jpg", "written directly.jpg"]
        while time.time() < deadline:
            rows = [srv.row(k) for k in want]
            if all(r and r["processingStatus"] == "completed" for r in rows):
                break
            time.sleep(0.2)
        for k in want:
            r = srv.row(k)
            check(r and r["processingStatus"] == "completed", f"watcher processed {k!r}: {r}")
        check(srv.row(".hidden.jpg") is None, "watcher skips dot files")
        check(srv.stop() == 0, "watcher server exits 0")
    finally:
        srv.cleanup()


def folder_watcher_catch_up():
    """Files that landed while the server was down are processed when it starts, once;
    files it already finished are not run again."""
    first = Server(ENLARGER_WATCH=1)
    second = None
    try:
        data = make_image(os.path.join(tmp, "c.jpg"), 640, 480)
        first.put_original("done before.jpg", data)
        deadline = time.time() + 30
        while time.time() < deadline and (first.row("done before.jpg") or {}).get(
                "processingStatus") != "completed":
            time.sleep(0.2)
        check((first.row("done before.jpg") or {}).get("processingStatus") == "completed",
              "catch-up: the first server processed its file")
        check(first.stop() == 0, "catch-up: the first server exits 0")
        # Written while no server runs: straight into the folder, one in a new subfolder.
        down = ["while down.jpg", "new folder/while down 2.jpg"]
        for i, k in enumerate(down):
            path = os.path.join(first.data, "originals", k)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data + bytes([i]))
        second = Server(ENLARGER_WATCH=1, data=first.data)
        deadline = time.time() + 30
        while time.time() < deadline and not all(
                (second.row(k) or {}).get("processingStatus") == "completed" for k in down):
            time.sleep(0.2)
        for k in down:
            r = second.row(k)
            check(r and r["processingStatus"] == "completed" and r.get("width") == 640,
                  f"catch-up processed {k!r} at start: {r}")
        runs = pipeline_runs(second)
        check(runs["done before.jpg"] == 0, f"catch-up left the finished file alone: {runs}")
        check(all(runs[k] == 1 for k in down), f"catch-up ran each new file once: {runs}")
        check(second.stop() == 0, "catch-up: the second server exits 0")
    finally:
        if second:
            second.cleanup()
        first.cleanup()


def watcher_off_on_aws(backend):
    """With ENLARGER_BACKEND=aws the watcher is off by default: nothing watches the
    server's local data folder, and the configuration says so."""
    srv = Server(backend)
    try:
        cfg = next((l for l in srv.log_lines() if l.get("msg") == "config"), {})
        check(cfg.get("ENLARGER_WATCH") == 0, f"ENLARGER_WATCH defaults to 0 on aws: {cfg}")
        check(not any(str(l.get("msg", "")).startswith("watching") for l in srv.log_lines()),
              "no folder watcher started on aws")
        check(srv.stop() == 0, "aws server exits 0")
    finally:
        srv.cleanup()


def main():
    if ARGS.backend == "local":
        main_suite(None)
        queue_full(None)
        bad_configuration()
        closed_by_default()
        folder_watcher()
        folder_watcher_catch_up()
    else:
        with standins_or_skip() as st:
            backend = AwsBackend(st)
            main_suite(backend)
            queue_full(backend)
            watcher_off_on_aws(backend)
        print("skip on aws: the folder watcher and the SQLite file checks (local backend "
              "only); bad configuration runs in the local suite", flush=True)
    shutil.rmtree(tmp, ignore_errors=True)
    done()


main()
