"""The faults of issue 4, with ENLARGER_BACKEND=aws against the stand-ins (s3rver +
dynalite started here by standins.py); objects and items checked with botocore (never
through enlarger). The /process and /render suite itself runs on the stand-ins as
tests/integration/test_service.py --backend aws.
  * s3rver stopped in the middle of a burst: 503s, no item left looking complete, no
    derivative referenced that is not there, and after a restart the retried events
    complete at once (the failed attempts released their claims: no 429 while a lease
    runs out);
  * dynalite down: 503, and the same recovery;
  * an S3 endpoint that accepts connections and never answers (s3rver under SIGSTOP):
    the timeout fires within EventBridge's 5 s, and the error is answered and logged;
  * S3 answering 403 AccessDenied and DynamoDB AccessDeniedException (a proxy in front of
    the stand-ins, tests/aws/deny_proxy.py): 503 with Retry-After (EventBridge retries
    it), never 401; the problem body names neither the backend's code nor its status nor
    its endpoint, and the log has them under the body's request id."""

import concurrent.futures
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
from enl_harness import (AwsBackend, Server, check, done, eventbridge,  # noqa: E402
                         gps_tags, make_image, need_tools, vipsheader)
from deny_proxy import S3_EXPIRED, DenyProxy  # noqa: E402
from standins import Skip, StandIns  # noqa: E402

need_tools("vips", "vipsheader", "exiftool")

KEY = "aws-test-key-0123456789"
AUTH = {"x-api-key": KEY}
BUCKETS = ["originals", "thumbnails", "optimized", "renders"]
tmp = tempfile.mkdtemp(prefix="enl-aws-img-")


def image(name, w, h):
    return make_image(os.path.join(tmp, name + ".jpg"), w, h)


def start(st, **env):
    # The default lease (8 s): a failed attempt releases its claim, so the retry
    # need not wait for the lease to end.
    e = {"ENLARGER_PROCESS_API_KEY": KEY, "ENLARGER_QUEUE_DEPTH": 64}
    e.update(env)
    return Server(AwsBackend(st), **e)


def post(srv, body, timeout=60):
    t0 = time.time()
    st, h, data = srv.request("POST", "/process", body, AUTH, timeout=timeout)
    return st, data, time.time() - t0


def retry_until_done(srv, body, tries=60, seen=None):
    """As EventBridge does: retry 429 and 5xx. seen (a list) collects every status."""
    st = None
    for _ in range(tries):
        st, _, _ = post(srv, body)
        if seen is not None:
            seen.append(st)
        if st not in (429, 500, 503, 504):
            return st
        time.sleep(0.25)
    return st


def item(ddb, photo_id):
    return ddb.get_item(TableName="photos", Key={"photoId": {"S": photo_id}},
                        ConsistentRead=True).get("Item")


def s(it, name):
    return (it or {}).get(name, {}).get("S")


def n(it, name):
    v = (it or {}).get(name, {}).get("N")
    return float(v) if v is not None else None


def get_obj(s3, bucket, key):
    try:
        r = s3.get_object(Bucket=bucket, Key=key)
    except s3.exceptions.NoSuchKey:
        return None
    return r["Body"].read(), r.get("ContentType"), r.get("CacheControl"), r.get("ETag")


def check_derivatives(s3, it, label):
    """Each derivative the item names exists, with its type, cache policy and size."""
    want = {"thumbnailKey": ("thumbnails", "image/webp", "thumbnailSize", "webp"),
            "thumbnailJpegKey": ("thumbnails", "image/jpeg", "thumbnailJpegSize", "jpeg"),
            "optimizedKey": ("optimized", "image/webp", "optimizedSize", "webp"),
            "optimizedJpegKey": ("optimized", "image/jpeg", "optimizedJpegSize", "jpeg")}
    dims = {}
    for field, (bucket, ctype, size_field, loader) in want.items():
        key = s(it, field)
        if not check(key, f"{label}: item has {field}"):
            continue
        got = get_obj(s3, bucket, key)
        if not check(got is not None, f"{label}: {bucket}/{key} exists"):
            continue
        body, ct, cc, etag = got
        check(ct == ctype, f"{label}: {field} Content-Type {ct} != {ctype}")
        check(cc and "max-age=" in cc, f"{label}: {field} Cache-Control {cc!r}")
        check(len(body) == n(it, size_field), f"{label}: {field} bytes = {size_field}")
        check(etag.strip('"') == hashlib.md5(body).hexdigest(), f"{label}: {field} ETag")
        w, h, ld = vipsheader(body)
        check(loader in ld, f"{label}: {field} is {ld}, not {loader}")
        dims[field] = (w, h)
        path = os.path.join(tmp, "deriv." + loader)
        with open(path, "wb") as f:
            f.write(body)
        check(not gps_tags(path), f"{label}: {field} carries no GPS")
    return dims


def s3_down_mid_burst(st):
    s3, ddb = st.client("s3"), st.client("dynamodb")
    keys = [f"burst/photo {i:02d}.jpg" for i in range(16)]
    base = image("burst", 2400, 1600)
    for i, k in enumerate(keys):
        s3.put_object(Bucket="originals", Key=k, Body=base + bytes([i]))
    srv = start(st, ENLARGER_JOBS=2, ENLARGER_AWS_TIMEOUT_MS=1500,
                ENLARGER_AWS_RETRY_DEADLINE_MS=1000)
    try:
        events = {k: eventbridge("originals", k, sequencer="2B") for k in keys}
        with concurrent.futures.ThreadPoolExecutor(len(keys)) as pool:
            futs = {pool.submit(post, srv, ev): k for k, ev in events.items()}
            first = next(concurrent.futures.as_completed(futs))
            first.result()
            st.stop_s3()  # mid-burst: the rest are queued or running
            results = {futs[f]: f.result() for f in futs}
        codes = [r[0] for r in results.values()]
        failed = [k for k, r in results.items() if r[0] != 200]
        # 429: no job slot within ENLARGER_PROCESS_QUEUE_TIMEOUT_MS while the running
        # jobs waited on S3 (never claimed, so nothing to release).
        check(all(c in (200, 429, 503, 504) for c in codes), f"only 200/429/503/504: {codes}")
        check(any(c == 503 for c in codes), f"some answered 503 while S3 was down: {codes}")
        check(all(r[2] < 5.0 for r in results.values() if r[0] != 200),
              f"failures answered within 5 s: {[round(r[2], 2) for r in results.values()]}")
        for k in failed:
            it = item(ddb, k)
            check(s(it, "processingStatus") != "completed", f"{k}: not completed after 503")
            # None: S3 failed before the claim (the HEAD of the original).
            check(s(it, "processingStatus") in (None, "pending") and
                  "leaseUntil" not in (it or {}),
                  f"{k}: claim released (pending, no lease) after the failure: {it}")
        st.start_s3()
        t0 = time.time()
        for k in failed:
            seen = []
            check(retry_until_done(srv, events[k], seen=seen) == 200,
                  f"{k}: retried event completes")
            check(429 not in seen, f"{k}: the retry was not held off by a lease: {seen}")
        check(time.time() - t0 < 30, f"retries done at once: {time.time() - t0:.1f}s")
        for k in keys:
            it = item(ddb, k)
            check(s(it, "processingStatus") == "completed", f"{k}: completed at the end")
            check_derivatives(s3, it, k)
        print(f"burst: {codes.count(200)} done before the stop, {len(failed)} retried")
    finally:
        if not st.s3.running():
            st.start_s3()
        rc = srv.stop()
        check(rc == 0, f"server exits 0 on SIGTERM (sanitizers clean): {rc}")
        if rc:
            print(open(srv.log_path, errors="replace").read()[-3000:])
        srv.cleanup()


def dynamodb_down(st):
    s3, ddb = st.client("s3"), st.client("dynamodb")
    key = "ddb/down.jpg"
    s3.put_object(Bucket="originals", Key=key, Body=image("ddb", 400, 300))
    srv = start(st, ENLARGER_AWS_TIMEOUT_MS=1500, ENLARGER_AWS_RETRY_DEADLINE_MS=1000)
    try:
        ev = eventbridge("originals", key, sequencer="3C")
        st.stop_dynamodb()
        code, data, secs = post(srv, ev)
        check(code == 503, f"dynamodb down: {code} {data[:200]!r}")
        check(secs < 5.0, f"answered within 5 s ({secs:.2f})")
        code, _, _ = srv.request("GET", "/readyz")
        check(code == 503, f"readyz with dynamodb down: {code}")
        st.start_dynamodb()
        seen = []
        check(retry_until_done(srv, ev, seen=seen) == 200, "retried event completes")
        check(429 not in seen, f"no 429 after the restart: {seen}")
        it = item(ddb, key)
        check(s(it, "processingStatus") == "completed", f"completed after restart: {it}")
        check_derivatives(s3, it, key)
    finally:
        if not st.ddb.running():
            st.start_dynamodb()
        rc = srv.stop()
        check(rc == 0, f"server exits 0 on SIGTERM (sanitizers clean): {rc}")
        if rc:
            print(open(srv.log_path, errors="replace").read()[-3000:])
        srv.cleanup()


def s3_hangs(st):
    s3 = st.client("s3")
    key = "hang/never.jpg"
    s3.put_object(Bucket="originals", Key=key, Body=image("hang", 400, 300))
    srv = start(st, ENLARGER_AWS_TIMEOUT_MS=1000, ENLARGER_AWS_RETRY_DEADLINE_MS=500)
    try:
        st.s3.pause()  # the port still accepts; nothing answers
        code, data, secs = post(srv, eventbridge("originals", key, sequencer="4D"))
        st.s3.resume()
        check(code in (503, 504), f"hanging S3: {code} {data[:200]!r}")
        check(1.0 <= secs < 5.0, f"the timeout fired within EventBridge's 5 s: {secs:.2f}")
        logs = srv.log_lines()
        check(any(l.get("msg") == "s3 request failed" and l.get("error") == "timeout"
                  for l in logs), "the timeout is logged")
        check(retry_until_done(srv, eventbridge("originals", key, sequencer="4D")) == 200,
              "completes once S3 answers again")
    finally:
        st.s3.resume()
        rc = srv.stop()
        check(rc == 0, f"server exits 0 on SIGTERM (sanitizers clean): {rc}")
        if rc:
            print(open(srv.log_path, errors="replace").read()[-3000:])
        srv.cleanup()


def denied_answer(srv, method, path, body, backend, code, proxy, what):
    """One request while backend refuses the service: a 503 problem with Retry-After that
    echoes nothing of the backend, and the backend's refusal (its code, or the status of a
    HEAD, whose 403 has no body) and endpoint in the log under the body's request id."""
    st_, h, data = srv.request(method, path, body, AUTH if method == "POST" else None)
    check(st_ == 503, f"{what}: {st_} (want 503, not 401) {data[:200]!r}")
    check(int(h.get("retry-after", "0")) >= 1, f"{what}: Retry-After {h.get('retry-after')}")
    try:
        p = json.loads(data)
    except ValueError:
        p = {}
    check(p.get("type", "").endswith("/backend-denied"), f"{what}: problem type {p}")
    text = json.dumps({k: v for k, v in p.items() if k != "requestId"})
    port = proxy.endpoint.rsplit(":", 1)[1]
    for leak in (code, "403", "127.0.0.1", port, "arn:aws", "DENYPROXY"):
        check(leak not in text, f"{what}: the body echoes {leak!r}: {text}")
    rid = p.get("requestId")
    check(rid and h.get("x-request-id") == rid, f"{what}: request id {rid} / {h}")
    logged = [l for l in srv.log_lines() if l.get("requestId") == rid and
              l.get("msg") == f"{backend} request failed"]
    check(any((code in json.dumps(l) or l.get("status") in (400, 403)) and
              proxy.endpoint in json.dumps(l) for l in logged),
          f"{what}: the log has {code} and the endpoint under {rid}: {logged}")


def backend_denies(st):
    s3 = st.client("s3")
    key = "denied/photo one.jpg"
    s3.put_object(Bucket="originals", Key=key, Body=image("denied", 400, 300))
    ev = eventbridge("originals", key, sequencer="5E")
    with DenyProxy(st.s3_endpoint, "s3") as s3p, \
            DenyProxy(st.dynamodb_endpoint, "dynamodb") as ddbp:
        srv = start(st, AWS_ENDPOINT_URL_S3=s3p.endpoint,
                    AWS_ENDPOINT_URL_DYNAMODB=ddbp.endpoint)
        try:
            s3p.deny = True
            denied_answer(srv, "POST", "/process", ev, "s3", "AccessDenied", s3p,
                          "S3 403 on /process")
            denied_answer(srv, "GET", "/render/denied/photo%20one.jpg?w=128&fmt=webp", None,
                          "s3", "AccessDenied", s3p, "S3 403 on /render")
            check(s3p.refused >= 2, f"the proxy refused {s3p.refused} S3 requests")
            # An expired session token is a 400 from S3 (and a bare 400 to a HEAD): still
            # the service's credentials, a 503, never a 400 that drops the event.
            s3p.denied = S3_EXPIRED
            denied_answer(srv, "POST", "/process", ev, "s3", "ExpiredToken", s3p,
                          "S3 400 ExpiredToken on /process")
            denied_answer(srv, "GET", "/render/denied/photo%20one.jpg?w=128&fmt=webp", None,
                          "s3", "ExpiredToken", s3p, "S3 400 ExpiredToken on /render")
            s3p.deny = False
            ddbp.deny = True
            denied_answer(srv, "POST", "/process", ev, "dynamodb", "AccessDeniedException",
                          ddbp, "DynamoDB AccessDenied on /process")
            ddbp.deny = False
            # Fixed (the role gets its permission back): EventBridge's retry completes.
            check(retry_until_done(srv, ev) == 200, "completes once the backends allow it")
            check(s(item(st.client("dynamodb"), key), "processingStatus") == "completed",
                  "completed after the denial ended")
        finally:
            s3p.deny = ddbp.deny = False
            rc = srv.stop()
            check(rc == 0, f"server exits 0 on SIGTERM (sanitizers clean): {rc}")
            srv.cleanup()


def main():
    try:
        st = StandIns(buckets=BUCKETS, table="photos")
    except Skip as why:
        print(f"skip: {why}")
        sys.exit(77)
    with st:
        s3_down_mid_burst(st)
        dynamodb_down(st)
        s3_hangs(st)
        backend_denies(st)
    subprocess.run(["rm", "-rf", tmp])
    done()


if __name__ == "__main__":
    main()
