"""A photo's whole life and the gallery's contract (issue 12), through the real binary over
HTTP, on either backend:

  test_lifecycle.py                 folders + SQLite, label integration
  test_lifecycle.py --backend aws   s3rver + dynalite (tests/aws/standins.py), label aws

Oracles: the item read back independently (boto3's TypeDeserializer over botocore, or
sqlite3) and held against the gallery's Go model (gallery_model.py); objects listed in the
buckets directly (files, or botocore)."""

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "aws"))
import enl_harness as harness  # noqa: E402
from enl_harness import (AwsBackend, Server, call, check, done,  # noqa: E402
                         eventbridge, make_image, need_tools,
                         render_path, s3_record, wait_until)
import gallery_model  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--backend", choices=["local", "aws"], default="local")
ARGS = ap.parse_args()
need_tools("vips", "vipsheader", "exiftool")

KEY = "lifecycle-key-0123456789"
AUTH = {"x-api-key": KEY}
tmp = tempfile.mkdtemp(prefix="enl-life-img-")


def process(srv, body, expect=200, what=""):
    st, _, res = harness.process(srv, body, AUTH, expect, what)
    return st, res


def camera_photo(name, w=640, h=480, extra=()):
    """A JPEG with the EXIF the gallery shows (written by exiftool), and GPS."""
    path = os.path.join(tmp, name + ".jpg")
    make_image(path, w, h)
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-Make=FUJIFILM",
                    "-Model=X-T5", "-FNumber=2.8", "-ExposureTime=1/250", "-FocalLength=24",
                    "-ISO=200", "-DateTimeOriginal=2024:05:06 07:08:09",
                    "-GPSLatitude=45.4642", "-GPSLatitudeRef=N", "-GPSLongitude=9.19",
                    "-GPSLongitudeRef=E", *extra, path], check=True)
    with open(path, "rb") as f:
        return f.read()


# ---- 1: the item speaks the gallery's Photo model ----------------------------------------

def item_contract(srv):
    data = camera_photo("model")
    srv.put_original("gallery/model.jpg", data)
    st, res = process(srv, {"bucket": "originals", "key": "gallery/model.jpg"},
                      what="process a camera photo")
    res = res or {}
    want = {"cameraMake": "FUJIFILM", "cameraModel": "X-T5", "aperture": "2.8",
            "shutterSpeed": "1/250", "focalLength": "24", "iso": 200,
            "dateTaken": "2024-05-06T07:08:09", "processingStatus": "completed"}
    for k, v in want.items():
        check(res.get(k) == v and type(res.get(k)) is type(v),
              f"/process {k} = {res.get(k)!r}, want {v!r}")
    check(isinstance(res.get("fNumber"), float) and abs(res["fNumber"] - 2.8) < 1e-9,
          f"numeric twin fNumber {res.get('fNumber')!r}")
    check(isinstance(res.get("focalLengthMm"), float) and res["focalLengthMm"] == 24.0,
          f"numeric twin focalLengthMm {res.get('focalLengthMm')!r}")
    check(isinstance(res.get("exposureSeconds"), float), "numeric twin exposureSeconds")
    for old in ("make", "model", "exposureTime"):
        check(old not in res, f"/process has no {old!r}")
    require = list(gallery_model.MODEL)
    if srv.backend.name == "aws":
        raw = srv.backend.raw_item("gallery/model.jpg") or {}
        errs = gallery_model.check_dynamodb_item(raw, require)
        check(not errs, f"DynamoDB item against the gallery's model: {errs}")
        for old in ("make", "model", "exposureTime"):
            check(old not in raw, f"DynamoDB item has no {old!r}")
    else:
        db = srv.backend.db()
        try:
            errs = gallery_model.check_sqlite_row(db, "photos", "photoId", "gallery/model.jpg",
                                                  require)
        finally:
            db.close()
        check(not errs, f"SQLite row against the gallery's model: {errs}")
    # The oracle itself catches what breaks the gallery (it must be able to fail).
    bad = {"aperture": {"N": "2.8"}, "iso": {"N": "200.0"}, "gps": {"M": {"latitude":
                                                                          {"S": "45"}}}}
    errs = gallery_model.check_dynamodb_item(bad)
    check(len(errs) >= 3, f"the model check catches wrong types: {errs}")


# ---- helpers for the photo's life ------------------------------------------------------

RESULT_ATTRS = ("thumbnailKey", "thumbnailJpegKey", "optimizedKey", "optimizedJpegKey",
                "width", "height", "fileSize", "cameraMake", "aperture", "shutterSpeed",
                "focalLength", "iso", "gps", "gpsLatitude", "blurhash", "processedAt", "etag")


def derivatives(srv, photo_id):
    """Every derivative key of the photo in both buckets, listed directly."""
    return (srv.backend.list_keys("thumbnails", photo_id + "/") +
            srv.backend.list_keys("optimized", photo_id + "/"))


def variants(srv, key):
    return srv.backend.list_keys("renders", hashlib.sha256(key.encode()).hexdigest() + "/")


def version_of(k):
    return k.split("/")[-2]


def render(srv, key, w):
    st, _, _ = call(srv, "GET", render_path(key, w=w, fmt="webp"), expect=200,
                    what=f"render {key} w={w}")
    return st


def upload_and_process(srv, key, seq, data, what):
    srv.put_original(key, data)
    st, res = process(srv, eventbridge("originals", key, seq), what=what)
    check(res and res.get("outcome") == "processed", f"{what}: processed: {res}")
    return res or {}


# ---- 2: deletes ---------------------------------------------------------------------------

def deletes(srv):
    key = "life/del one+é.jpg"
    res = upload_and_process(srv, key, "10", camera_photo("del"), "upload before a delete")
    render(srv, key, 128)
    render(srv, key, 200)
    check(len(derivatives(srv, key)) == 4, f"four derivatives: {derivatives(srv, key)}")
    check(len(variants(srv, key)) == 2, f"two render variants: {variants(srv, key)}")

    srv.backend.delete_original(key)
    st, out = process(srv, eventbridge("originals", key, "20", deleted=True), what="Object Deleted")
    out = out or {}
    check(out.get("outcome") == "deleted" and out.get("processingStatus") == "deleted",
          f"delete answered: {out}")
    check(derivatives(srv, key) == [], f"derivatives gone when the delete is answered: "
          f"{derivatives(srv, key)}")
    row = srv.row(key)
    check(row is not None and row["processingStatus"] == "deleted", f"item deleted: {row}")
    if row:
        left = [a for a in RESULT_ATTRS if row[a] is not None]
        check(not left, f"a deleted item keeps no result attributes: {left}")
        check(row["sequencer"].endswith("20") and row["objectKey"] == key,
              f"the delete's sequencer, the original's key: {row}")
    if srv.backend.name == "aws":
        errs = gallery_model.check_dynamodb_item(srv.backend.raw_item(key) or {})
        check(not errs, f"a deleted item still fits the gallery's model: {errs}")
    wait_until("render variants of a deleted original are deleted",
               lambda: variants(srv, key) == [])
    st, _, _ = call(srv, "GET", render_path(key, w=128, fmt="webp"), expect=404,
                    what="render of a deleted original")

    # At least once, out of order: the same delete, an older delete, the upload's own event
    # arriving late: nothing changes.
    st, out = process(srv, eventbridge("originals", key, "20", deleted=True), what="duplicate delete")
    check(out and out.get("outcome") == "duplicate", f"duplicate delete: {out}")
    st, out = process(srv, eventbridge("originals", key, "15", deleted=True), what="older delete")
    check(out and out.get("outcome") == "stale", f"older delete is stale: {out}")
    call(srv, "POST", "/process", eventbridge("originals", key, "10"), AUTH, 404,
         "the upload's late event: the original is gone")
    check(srv.row(key)["processingStatus"] == "deleted", "still deleted")

    # An upload newer than the delete wins; a delete older than it is then stale.
    res = upload_and_process(srv, key, "30", camera_photo("del2", 500, 400), "re-upload")
    check(res.get("processingStatus") == "completed" and res.get("width") == 500,
          f"the re-upload is processed: {res}")
    st, out = process(srv, eventbridge("originals", key, "25", deleted=True), what="delete older than "
                      "the re-upload")
    check(out and out.get("outcome") == "stale", f"stale: {out}")
    check(len(derivatives(srv, key)) == 4, f"the re-upload's derivatives stay: "
          f"{derivatives(srv, key)}")

    # A classic ObjectRemoved record for a photo that never had an item: none is created.
    never = "life/never processed.jpg"
    st, out = process(srv, s3_record("originals", never, "0A", "ObjectRemoved:Delete"),
                      what="delete without an item")
    check(out and out.get("outcome") == "deleted" and out.get("photoId") == never and
          "processingStatus" not in out, f"delete without an item: {out}")
    check(srv.row(never) is None, "no item is created for a delete")
    st, out = process(srv, s3_record("originals", never, "0B",
                                     "ObjectRemoved:DeleteMarkerCreated"),
                      what="delete marker without an item")
    check(srv.row(never) is None, "no item for a delete marker either")


def reordered(srv):
    """A delete and uploads of one key arriving in either order."""
    # upload v1 (10), delete (20), upload v2 (30): v2's event before the delete's.
    key = "life/order a.jpg"
    upload_and_process(srv, key, "10", camera_photo("oa1"), "v1")
    srv.put_original(key, camera_photo("oa2", 600, 400))  # v2 replaced it after the delete
    st, res = process(srv, eventbridge("originals", key, "30"), what="v2 before the delete")
    check(res and res.get("outcome") == "processed", f"v2 processed: {res}")
    st, res = process(srv, eventbridge("originals", key, "20", deleted=True), what="late delete")
    check(res and res.get("outcome") == "stale", f"the older delete is stale: {res}")
    row = srv.row(key)
    check(row and row["processingStatus"] == "completed" and row["width"] == 600,
          f"v2 stays: {row}")
    d = derivatives(srv, key)
    check(len(d) >= 4 and all(srv.backend.get_object(
        "thumbnails" if "thumb" in row[f] else "optimized", row[f]) for f in
        ("thumbnailKey", "optimizedKey")), f"v2's derivatives are there: {d}")

    # The same history with the delete's event first: the photo is deleted, then v2 wins.
    key = "life/order b.jpg"
    upload_and_process(srv, key, "10", camera_photo("ob1"), "v1")
    srv.put_original(key, camera_photo("ob2", 600, 400))
    st, res = process(srv, eventbridge("originals", key, "20", deleted=True), what="delete first")
    check(res and res.get("outcome") == "deleted", f"deleted: {res}")
    check(derivatives(srv, key) == [], "v1's derivatives deleted")
    st, res = process(srv, eventbridge("originals", key, "30"), what="then v2")
    check(res and res.get("outcome") == "processed" and res.get("width") == 600,
          f"v2 processed after the delete: {res}")
    check(len(derivatives(srv, key)) == 4, f"v2's four derivatives: {derivatives(srv, key)}")

    # A delete before its upload's event was ever processed: no item, then the upload's
    # event finds no original (404, not retried) and creates none either.
    key = "life/order c.jpg"
    srv.put_original(key, camera_photo("oc"))
    srv.backend.delete_original(key)
    st, res = process(srv, eventbridge("originals", key, "20", deleted=True), what="delete, no item")
    check(res and res.get("outcome") == "deleted", f"deleted: {res}")
    call(srv, "POST", "/process", eventbridge("originals", key, "10"), AUTH, 404,
         "upload event after its delete")
    check(srv.row(key) is None, f"no item: {srv.row(key)}")


# ---- 3: replacements -----------------------------------------------------------------------

def replacements(srv):
    key = "life/replaced.jpg"
    r1 = upload_and_process(srv, key, "10", camera_photo("r1"), "v1")
    render(srv, key, 128)
    v1 = version_of(r1.get("thumbnailKey", "x/x"))
    old_d, old_v = derivatives(srv, key), variants(srv, key)
    check(len(old_d) == 4 and len(old_v) == 1, f"v1: {old_d} {old_v}")
    r2 = upload_and_process(srv, key, "20", camera_photo("r2", 800, 600), "v2")
    v2 = version_of(r2.get("thumbnailKey", "x/x"))
    check(v1 != v2, f"a new version: {v1} -> {v2}")
    render(srv, key, 128)  # v2's variant

    def only_v2():
        d = derivatives(srv, key)
        return len(d) == 4 and {version_of(k) for k in d} == {v2}
    wait_until("the previous version's derivatives are deleted, the new ones stay", only_v2)
    wait_until("the previous version's render variants are deleted",
               lambda: not set(old_v) & set(variants(srv, key)) and len(variants(srv, key)) == 1)
    row = srv.row(key)
    for f in ("thumbnailKey", "thumbnailJpegKey", "optimizedKey", "optimizedJpegKey"):
        bucket = "thumbnails" if f.startswith("thumb") else "optimized"
        check(row[f] and version_of(row[f]) == v2 and srv.backend.get_object(bucket, row[f]),
              f"the item points at v2's {f}, which exists: {row[f]}")
    # The first event replayed: stale, and nothing of v2 is touched.
    st, res = process(srv, eventbridge("originals", key, "10"), what="v1's event again")
    check(res and res.get("outcome") == "stale", f"stale: {res}")
    time.sleep(0.5)
    check(only_v2(), "v2's derivatives stay after a stale event")
    # The same bytes again under a newer event: processed, nothing to clean up.
    st, res = process(srv, eventbridge("originals", key, "30"), what="same bytes, newer event")
    time.sleep(0.5)
    check(only_v2(), "the same version again keeps its derivatives")


def delete_retried(st):
    """AWS only: S3 refuses the DELETEs of a delete's sweep (a proxy, tests/aws/deny_proxy.py).
    The event is answered 503 (EventBridge retries it), the item is already "deleted" and names
    no derivative, none is half gone from the item's view; the retry (a duplicate) deletes
    them and answers 200."""
    from deny_proxy import DenyProxy
    with DenyProxy(st.s3_endpoint, "s3") as proxy:
        srv = Server(AwsBackend(st), ENLARGER_PROCESS_API_KEY=KEY,
                     AWS_ENDPOINT_URL_S3=proxy.endpoint)
        try:
            key = "life/delete retried.jpg"
            upload_and_process(srv, key, "10", camera_photo("dr"), "upload")
            srv.backend.delete_original(key)
            proxy.methods, proxy.deny = {"DELETE"}, True
            ev = eventbridge("originals", key, "20", deleted=True)
            st_, h, data = call(srv, "POST", "/process", ev, AUTH, 503, "sweep refused")
            check(int(h.get("retry-after", "0")) >= 1, "503 with Retry-After")
            row = srv.row(key)
            check(row and row["processingStatus"] == "deleted" and row["thumbnailKey"] is None,
                  f"the item is deleted and names no derivative: {row}")
            check(len(derivatives(srv, key)) == 4, "the derivatives are still there")
            proxy.deny = False
            st_, res = process(srv, ev, what="EventBridge's retry")
            check(res and res.get("outcome") == "duplicate", f"the retry: {res}")
            check(derivatives(srv, key) == [], f"deleted by the retry: {derivatives(srv, key)}")
            check(srv.stop() == 0, "server exits 0")
        finally:
            srv.cleanup()


# ---- 4: CDN invalidation (AWS only: CloudFront is called with the AWS credentials) --------

def cdn_invalidations(st):
    """A CloudFront stand-in whose requests botocore verifies (tests/aws/cloudfront_standin.py):
    one CreateInvalidation of the photo's three paths per replacement and per delete, none
    for a first upload; 5xx and throttling retried, a refusal given up; never the event's
    failure."""
    from cloudfront_standin import CloudFrontStandIn
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    env = st.env()
    token = "FQoGZXIvYXdzEXAMPLE+token/with=signs"
    with CloudFrontStandIn(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"],
                           token) as cf:
        # The stand-in's check can fail: botocore's own request, signed with another secret.
        import urllib.request
        req = AWSRequest(method="POST", url=cf.endpoint + "/2020-05-31/distribution/E1/"
                         "invalidation", data=b"<x/>", headers={"Content-Type": "text/xml"})
        botocore.auth.SigV4Auth(Credentials(env["AWS_ACCESS_KEY_ID"], "wrong", token),
                                "cloudfront", "us-east-1").add_auth(req)
        try:
            urllib.request.urlopen(urllib.request.Request(
                req.url, data=req.body, headers=dict(req.headers), method="POST"))
            check(False, "the stand-in takes a request signed with a wrong secret")
        except urllib.error.HTTPError as err:
            check(err.code == 403, f"the stand-in refuses a wrong signature: {err.code}")
        cf.requests.clear()

        srv = Server(AwsBackend(st), ENLARGER_PROCESS_API_KEY=KEY,
                     ENLARGER_CDN_DISTRIBUTION_ID="E2TESTDIST9", AWS_SESSION_TOKEN=token,
                     AWS_ENDPOINT_URL_CLOUDFRONT=cf.endpoint)
        try:
            key = "cdn/photo one*é.jpg"  # '*' is no wildcard in the middle of a path
            enc = "cdn/photo%20one%2A%C3%A9.jpg"
            want = {f"/render/{enc}*", f"/thumbnails/{enc}/*", f"/optimized/{enc}/*"}
            upload_and_process(srv, key, "10", camera_photo("cdn1"), "first upload")
            time.sleep(1.0)
            check(cf.created == {}, f"no invalidation for a first upload: {cf.created}")

            upload_and_process(srv, key, "20", camera_photo("cdn2", 500, 400), "replacement")
            wait_until("one invalidation for the replacement", lambda: len(cf.created) == 1)
            inv = list(cf.created.values())
            check(inv and inv[0]["dist"] == "E2TESTDIST9" and set(inv[0]["paths"]) == want,
                  f"the photo's three paths on the distribution: {inv}")

            # A delete while CloudFront answers 503 twice: the event is answered at once;
            # the invalidation is retried until it is made, once.
            cf.fail_next(2, 503)
            srv.backend.delete_original(key)
            t0 = time.time()
            st_, res = process(srv, eventbridge("originals", key, "30", deleted=True),
                               what="delete with the CDN failing")
            check(res and res.get("outcome") == "deleted" and time.time() - t0 < 5,
                  f"the delete does not wait for the CDN: {res}")
            wait_until("one invalidation for the delete, after the 503s",
                       lambda: len(cf.created) == 2)
            # Throttled past the request's own retries: tried again later (5 s).
            cf.fail_next(4, 400, "Throttling")
            upload_and_process(srv, key, "40", camera_photo("cdn3"), "re-upload")
            upload_and_process(srv, key, "50", camera_photo("cdn4", 300, 200), "replaced again")
            wait_until("the throttled invalidation is made later", lambda: len(cf.created) == 3,
                       timeout=60)
            # Refused (no permission): given up, counted, and the event still succeeds.
            cf.fail_next(1, 403, "AccessDenied")
            upload_and_process(srv, key, "60", camera_photo("cdn5", 320, 240), "replaced, denied")
            wait_until("the refused invalidation is counted as given up",
                       lambda: srv.metric("enlarger_cdn_invalidation_failures") == 1)
            check(srv.metric("enlarger_cdn_invalidations") == 3,
                  f"three invalidations made: {srv.metric('enlarger_cdn_invalidations')}")
            bad = [r for r in cf.requests if r.get("why") not in ("", "scripted")]
            check(not bad, f"every request botocore checked was right: {bad}")
            check(sum(1 for r in cf.requests if r["ok"]) >= 3, f"requests: {cf.requests}")
            check(srv.stop() == 0, "server exits 0")
        finally:
            srv.cleanup()


def main_suite(backend):
    srv = Server(backend, ENLARGER_PROCESS_API_KEY=KEY)
    try:
        for section in (item_contract, deletes, reordered, replacements):
            t0 = time.time()
            section(srv)
            print(f"{section.__name__}: {time.time() - t0:.1f} s", flush=True)
        check(srv.stop() == 0, "server exits 0")
    finally:
        srv.cleanup()


def main():
    if ARGS.backend == "local":
        main_suite(None)
    else:
        with harness.standins_or_skip() as st:
            main_suite(AwsBackend(st))
            delete_retried(st)
            cdn_invalidations(st)
    shutil.rmtree(tmp, ignore_errors=True)
    done()


main()
