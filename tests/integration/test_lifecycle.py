"""A photo's whole life and the gallery's contract (issue 12), through the real binary over
HTTP, on either backend:

  test_lifecycle.py                 folders + SQLite, label integration
  test_lifecycle.py --backend aws   s3rver + dynalite (tests/aws/standins.py), label aws

Oracles: the item read back independently (boto3's TypeDeserializer over botocore, or
sqlite3) and held against the gallery's Go model (gallery_model.py); objects listed in the
buckets directly (files, or botocore)."""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "aws"))
from enl_harness import (AwsBackend, OpenAPI, Server, check, done,  # noqa: E402
                         make_image, need_tools)
import gallery_model  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--backend", choices=["local", "aws"], default="local")
ARGS = ap.parse_args()
need_tools("vips", "vipsheader", "exiftool")

KEY = "lifecycle-key-0123456789"
AUTH = {"x-api-key": KEY}
api = OpenAPI()
tmp = tempfile.mkdtemp(prefix="enl-life-img-")


def call(srv, method, path, body=None, headers=None, expect=None, what=""):
    st, h, data = srv.request(method, path, body, headers)
    for err in api.check(method, path, st, h, data):
        check(False, f"openapi: {what or path}: {err}")
    if expect is not None:
        check(st == expect, f"{what or path}: status {st} != {expect}: {data[:300]!r}")
    return st, h, data


def process(srv, body, expect=200, what=""):
    st, h, data = call(srv, "POST", "/process", body, AUTH, expect, what)
    try:
        return st, json.loads(data)
    except ValueError:
        return st, None


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


def main_suite(backend):
    srv = Server(backend, ENLARGER_PROCESS_API_KEY=KEY)
    try:
        item_contract(srv)
        check(srv.stop() == 0, "server exits 0")
    finally:
        srv.cleanup()


def main():
    if ARGS.backend == "local":
        main_suite(None)
    else:
        from standins import Skip, StandIns
        try:
            st = StandIns(buckets=["originals", "thumbnails", "optimized", "renders"],
                          table="photos")
        except Skip as why:
            print(f"skip: {why}")
            sys.exit(77)
        with st:
            main_suite(AwsBackend(st))
    shutil.rmtree(tmp, ignore_errors=True)
    done()


main()
