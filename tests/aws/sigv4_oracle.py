"""SigV4 oracle: botocore (Debian's python3-botocore) signs the same requests as enlarger's
signer (through tests/aws/aws_sign_tool), and every header must match byte for byte.

S3 GET/HEAD/PUT on hostile keys (spaces, '+', '%', '=', UTF-8 accents, '//', '..'), with
x-amz-meta-* headers sharing a prefix and object tags (x-amz-tagging), a bucket listing
with an unsorted query, and DynamoDB POSTs; each with and without a session token, on AWS
endpoints and a loopback endpoint with a port. The URL is also built independently here
(urllib.parse.quote) and compared.

Usage: sigv4_oracle.py path/to/aws_sign_tool
"""
import datetime
import json
import logging
import subprocess
import sys
import types
from unittest import mock
from urllib.parse import quote

try:
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError:
    print("SKIP: python3-botocore is not installed (scripts/install-deps.sh)")
    sys.exit(77)

TIME = datetime.datetime(2024, 3, 15, 12, 34, 56)
EPOCH = 1710506096
AK = "AKIAIOSFODNN7EXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+token/with+plus=="

KEYS = [
    "my photo.jpg",
    "a+b.jpg",
    "100%.jpg",
    "100%25.jpg",
    "x=y&z.jpg",
    "caf\u00e9/\u00c9t\u00e9 2024/\u00fcber \u00f1o\u00f1o.jpg",
    "nested/dir//double.jpg",
    "weird ~!*'()[]{}@$,;:#?.jpg",
    "a/../b/./c.jpg",
    "\u65e5\u672c/\u5199\u771f.heic",
]


def s3_cases():
    cases = []
    for endpoint in (None, "http://127.0.0.1:4569"):
        for key in KEYS:
            for method in ("GET", "HEAD", "PUT"):
                for token in (None, TOKEN):
                    c = {"method": method, "service": "s3", "region": "eu-west-1",
                         "bucket": "photos-originals", "key": key, "headers": [],
                         "token": token, "endpoint": endpoint}
                    if method == "PUT":
                        c["body"] = "pretend JPEG bytes \u00e9"
                        c["headers"] = [
                            ["Content-Type", "image/jpeg"],
                            ["Cache-Control", "public, max-age=31536000, immutable"],
                            ["x-amz-meta-a", "one"],
                            ["x-amz-meta-ab", "two  spaces   inside"],
                            ["x-amz-meta-a-b", " trimmed "],
                            ["X-Amz-Meta-Sequencer", "617f08299329d189"],
                            ["x-amz-tagging", "enlarger-cache=variant&a%20b=c"],
                        ]
                    cases.append(c)
        # Listing for purges: unsorted, encoded query; and a dotted bucket (path style).
        for token in (None, TOKEN):
            cases.append({"method": "GET", "service": "s3", "region": "eu-west-1",
                          "bucket": "photos-render", "key": None,
                          "query": "prefix=caf%C3%A9%20x%2B1%2F&list-type=2&max-keys=1000",
                          "headers": [], "token": token, "endpoint": endpoint})
            cases.append({"method": "PUT", "service": "s3", "region": "us-east-1",
                          "bucket": "my.dotted.bucket", "key": "k y", "headers": [],
                          "body": "", "unsigned_payload": True, "token": token,
                          "endpoint": endpoint})
    return cases


def dynamodb_cases():
    cases = []
    item = {"TableName": "photos", "Key": {"key": {"S": "caf\u00e9 1+1.jpg"}},
            "UpdateExpression": "SET #s = :s",
            "ConditionExpression": "attribute_not_exists(#seq) OR #seq < :seq",
            "ExpressionAttributeNames": {"#s": "status", "#seq": "sequencer"},
            "ExpressionAttributeValues": {":s": {"S": "done"}, ":seq": {"S": "0a"}}}
    for endpoint in (None, "http://127.0.0.1:8000"):
        for target in ("UpdateItem", "GetItem"):
            for token in (None, TOKEN):
                cases.append({
                    "method": "POST", "service": "dynamodb", "region": "eu-central-1",
                    "headers": [["Content-Type", "application/x-amz-json-1.0"],
                                ["X-Amz-Target", "DynamoDB_20120810." + target]],
                    "body": json.dumps(item, ensure_ascii=False),
                    "token": token, "endpoint": endpoint})
    return cases


def expected_url(c):
    if c["service"] == "dynamodb":
        return (c["endpoint"] or "https://dynamodb.%s.amazonaws.com" % c["region"]) + "/"
    b = c["bucket"]
    key = quote(c["key"], safe="/~") if c["key"] is not None else ""
    q = "?" + c["query"] if c.get("query") else ""
    if c["endpoint"]:
        return "%s/%s/%s%s" % (c["endpoint"], b, key, q)
    if "." in b:
        return "https://s3.%s.amazonaws.com/%s/%s%s" % (c["region"], b, key, q)
    return "https://%s.s3.%s.amazonaws.com/%s%s" % (b, c["region"], key, q)


class FixedDatetime(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return TIME


def botocore_sign(c, url):
    creds = Credentials(AK, SK, c["token"])
    body = c.get("body")
    req = AWSRequest(method=c["method"], url=url, headers=dict(c["headers"]),
                     data=body.encode("utf-8") if body is not None else None)
    if c["service"] == "s3":
        signer = botocore.auth.S3SigV4Auth(creds, "s3", c["region"])
        if c.get("unsigned_payload"):
            req.context["payload_signing_enabled"] = False
            req.context["client_config"] = types.SimpleNamespace(
                s3={"payload_signing_enabled": False})
    else:
        signer = botocore.auth.SigV4Auth(creds, c["service"], c["region"])
    fake = types.SimpleNamespace(datetime=FixedDatetime)
    with mock.patch.object(botocore.auth, "datetime", fake):
        signer.add_auth(req)
    headers = {k.lower(): v for k, v in req.headers.items()}
    headers["host"] = botocore.auth._host_from_url(url)
    return headers


def main():
    tool = sys.argv[1]
    cases = s3_cases() + dynamodb_cases()
    specs = []
    for c in cases:
        s = dict(c, time=EPOCH, access_key=AK, secret_key=SK)
        specs.append({k: v for k, v in s.items() if v is not None})
    proc = subprocess.run([tool], input=json.dumps(specs).encode(), capture_output=True,
                          check=False)
    if proc.returncode != 0:
        print("aws_sign_tool failed:", proc.stderr.decode(errors="replace"))
        return 1
    results = json.loads(proc.stdout)
    logging.basicConfig(level=logging.WARNING)
    failed = passed = 0
    for c, r in zip(cases, results):
        label = "%s %s %s key=%r token=%s endpoint=%s" % (
            c["service"], c["method"], c.get("bucket", ""), c.get("key"), bool(c["token"]),
            c["endpoint"])
        if r is None:
            print("FAIL (enlarger refused to sign):", label)
            failed += 1
            continue
        url = expected_url(c)
        ours = {}
        for name, value in r["headers"]:
            ours[name.lower()] = value
        theirs = botocore_sign(c, url)
        problems = []
        if r["url"] != url:
            problems.append("url %r != %r" % (r["url"], url))
        if ours != theirs:
            for k in sorted(set(ours) | set(theirs)):
                if ours.get(k) != theirs.get(k):
                    problems.append("%s: ours %r botocore %r" % (k, ours.get(k), theirs.get(k)))
        if len(r["headers"]) != len(ours):
            problems.append("duplicate header names in our set")
        if c["token"] and ours.get("x-amz-security-token") != TOKEN:
            problems.append("session token missing")
        if problems:
            failed += 1
            print("FAIL:", label)
            for p in problems:
                print("   ", p)
            print("    our canonical request:\n" + r["canonical"])
        else:
            passed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or passed < 100 else 0


if __name__ == "__main__":
    sys.exit(main())
