#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets added for issue 15 into tests/fuzz/corpus/:
small images made with the vips command line (and exiftool for an EXIF orientation), the
AWS SigV4 test suite's requests (tests/data/sigv4), and answers shaped as S3, DynamoDB,
the ECS and IMDS credential endpoints and the local store write them. Seeds are files
named seed-*; what campaigns merge in has libFuzzer's hash names. Run it again after
changing it: it rewrites only seed-* files.
    tests/fuzz/make_seeds.py            (needs vips and exiftool: install-deps.sh dev)
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
SIGV4 = os.path.join(HERE, "..", "data", "sigv4")


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def vips(*args):
    subprocess.run(["vips", *args], check=True, capture_output=True)


def images(tmp):
    """name -> bytes of small images of every accepted type and a few that are not."""
    noise = os.path.join(tmp, "noise.v")
    vips("gaussnoise", os.path.join(tmp, "n.v"), "33", "17", "--mean", "128", "--sigma", "50")
    vips("cast", os.path.join(tmp, "n.v"), noise, "uchar")
    rgb = os.path.join(tmp, "rgb.v")
    vips("bandjoin", f"{noise} {noise} {noise}", rgb)
    # A gradient in the second band, so colour conversions have something to do.
    grad = os.path.join(tmp, "grad.v")
    vips("xyz", os.path.join(tmp, "xyz.v"), "33", "17")
    vips("cast", os.path.join(tmp, "xyz.v"), grad, "uchar")
    rgba = os.path.join(tmp, "rgba.v")
    vips("bandjoin", f"{rgb} {noise}", rgba)
    out = {}

    def save(name, src, suffix):
        """Saves src as tmp/<name>, suffix giving the saver's options (".jpg[Q=75]")."""
        path = os.path.join(tmp, name)
        vips("copy", src, path + suffix[suffix.index("["):] if "[" in suffix else path)
        with open(path, "rb") as f:
            out[name] = f.read()
        return path

    save("baseline.jpg", rgb, ".jpg[Q=75,strip]")
    save("progressive.jpg", rgb, ".jpg[Q=60,interlace,strip]")
    save("444.jpg", rgb, ".jpg[Q=95,no_subsample,strip]")
    save("grey.jpg", noise, ".jpg[Q=75,strip]")
    p = save("orient6.jpg", rgb, ".jpg[Q=75]")
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-Orientation#=6",
                    "-Artist=Ann Artist", "-Copyright=(c) 2024 Someone", p], check=True)
    with open(p, "rb") as f:
        out["orient6.jpg"] = f.read()
    try:
        save("icc.jpg", rgb, ".jpg[Q=75,profile=srgb]")
    except subprocess.CalledProcessError:
        pass
    try:
        cmyk = os.path.join(tmp, "cmyk.v")
        vips("icc_export", rgb, cmyk, "--output-profile", "cmyk")
        save("cmyk.jpg", cmyk, ".jpg[Q=75,strip]")
    except subprocess.CalledProcessError:
        pass
    out["truncated.jpg"] = out["baseline.jpg"][: len(out["baseline.jpg"]) // 2]
    save("rgba.png", rgba, "")
    save("interlaced.png", rgb, ".png[interlace]")
    save("palette.png", rgb, ".png[palette]")
    g16 = os.path.join(tmp, "g16.v")
    vips("cast", noise, g16, "ushort")
    save("grey16.png", g16, "")
    save("lossy.webp", rgb, ".webp[Q=50,strip]")
    save("lossless.webp", rgba, ".webp[lossless,strip]")
    save("alpha.webp", rgba, ".webp[Q=50,strip]")
    save("small.gif", rgb, "")
    save("plain.tif", rgb, "")
    save("deflate.tif", rgba, ".tif[compression=deflate]")
    try:
        save("small.avif", rgb, ".avif[Q=30,effort=0,compression=av1]")
    except subprocess.CalledProcessError:
        pass
    out["truncated.png"] = out["rgba.png"][: len(out["rgba.png"]) * 2 // 3]
    # Types sniffing names and refuses, and ISO BMFF boxes it must read the brands of.
    out["svg"] = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>'
    out["pdf"] = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    out["mp4"] = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
    out["heic-brand"] = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 16
    out["text"] = b"hello, I am not a picture\n"
    return out


def image_seeds():
    tmp = tempfile.mkdtemp(prefix="enl-seeds-")
    try:
        imgs = images(tmp)
    finally:
        shutil.rmtree(tmp)
    for name, data in imgs.items():
        write("image_probe", name, data)
        write("render", name, data)
        if name.endswith(".jpg"):
            write("jpeg_decode", name, data)
    # outmeta: flags (format, alpha, artist, copyright), width - 1, height - 1, the file.
    for name, fmt in (("lossy.webp", 1), ("lossless.webp", 1), ("alpha.webp", 1),
                      ("baseline.jpg", 0), ("rgba.png", 2), ("small.avif", 3)):
        if name not in imgs:
            continue
        for flags in (0, 8 | 16, 8 | 32, 16 | 4):
            write("outmeta", f"{name}-{flags}", bytes([fmt | flags, 32, 16]) + imgs[name])
    # A JFIF APP0 before the image data (the EXIF segment goes after it).
    jfif = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    write("outmeta", "jfif.jpg", bytes([0 | 8 | 16, 32, 16]) + jfif + imgs["baseline.jpg"][2:])


def sigv4_seeds():
    """The official suite's requests as a URL and header lines, and S3-style URLs."""
    n = 0
    for req in sorted(glob.glob(os.path.join(SIGV4, "*", "*.req"))):
        with open(req, encoding="utf-8") as f:
            lines = f.read().split("\n")
        method, target, _ = (lines[0].rsplit(" ", 2) + ["", ""])[:3]
        headers = [l for l in lines[1:] if ":" in l and l.strip()]
        host = next((l.split(":", 1)[1] for l in headers if l.lower().startswith("host:")), "h")
        rest = [l for l in headers if not l.lower().startswith(("host:", "x-amz-date:"))]
        write("sigv4", f"suite-{n:02d}", "!" + "\n".join([f"https://{host}{target}"] + rest))
        n += 1
    for i, s in enumerate([
        "http://127.0.0.1:4569/originals/my%20photo%2B1.jpg",
        "http://127.0.0.1:4569/renders?list-type=2&max-keys=1000&prefix=ab%2Fcd&continuation-token=a%3D%3D",
        "https://bucket.s3.eu-west-1.amazonaws.com/a//b/../c/%7euser?versionId=3\nx-amz-meta-photo-id: p1\nContent-Type: image/jpeg",
        "https://s3.eu-west-1.amazonaws.com/my.bucket/k%E2%82%AC.jpg?x=&y",
        "!https://dynamodb.us-east-1.amazonaws.com/\nX-Amz-Target: DynamoDB_20120810.GetItem\nContent-Type: application/x-amz-json-1.0",
        "!http://[::1]:8000/a/./b/../c?x=1&x=0&X=2\nMy-Header: a   b\nmy-header: c",
        "HTTP://EXAMPLE.com:80/\nX-Amz-Security-Token: t",
        "http://localhost:9000\nphotos/2024/IMG 0001.HEIC",
    ]):
        write("sigv4", f"s3-{i:02d}", s)


def aws_seeds():
    exp = "2030-09-18T22:27:06Z"
    docs = [
        {"AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "c2VjcmV0", "Token": "dG9rZW4=",
         "Expiration": exp, "RoleArn": "arn:aws:iam::123456789012:role/task"},
        {"Code": "Success", "LastUpdated": "2024-01-01T00:00:00Z", "Type": "AWS-HMAC",
         "AccessKeyId": "ASIAIMDS", "SecretAccessKey": "s", "Token": "t",
         "Expiration": "2030-01-31T23:59:59.123456+00:00"},
        {"AccessKeyId": "AKIA", "SecretAccessKey": "s"},
        {"Code": "Failure", "Message": "no role"},
        {"AccessKeyId": "AKIA", "SecretAccessKey": "s", "Expiration": "2024-02-30T10:00:00Z"},
        {"AccessKeyId": "AK\nIA", "SecretAccessKey": "s", "Expiration": 1700000000},
    ]
    for i, d in enumerate(docs):
        write("aws_creds", f"doc-{i}", json.dumps(d))
    write("aws_creds", "not-json", "<html>502 Bad Gateway</html>")

    listing = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        "<Name>renders</Name><Prefix>ab/</Prefix><KeyCount>3</KeyCount><MaxKeys>1000</MaxKeys>"
        "<IsTruncated>true</IsTruncated>"
        "<Contents><Key>ab/1/w400.webp</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified>"
        "<ETag>&quot;0123&quot;</ETag><Size>10</Size><StorageClass>STANDARD</StorageClass></Contents>"
        "<Contents><Key>ab/caf&#xE9; &amp; cr&#232;me &lt;1&gt;.jpg</Key><Size>1</Size></Contents>"
        "<Contents><Key>ab/&#128512;</Key><Size>1</Size></Contents>"
        "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
        "</ListBucketResult>")
    write("s3_response", "list", listing)
    write("s3_response", "list-last",
          listing.replace("<IsTruncated>true", "<IsTruncated>false").split("<NextContinuationToken>")[0]
          + "</ListBucketResult>")
    write("s3_response", "nosuchkey",
          "x-amz-request-id: 4442587FB7D0A2F9\ncontent-type: application/xml\n\n"
          '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code>'
          "<Message>The resource you requested does not exist</Message>"
          "<Resource>/mybucket/myfoto.jpg</Resource></Error>")
    write("s3_response", "slowdown", "<Error><Code>SlowDown</Code></Error>")
    write("s3_response", "head",
          'etag: "d41d8cd98f00b204e9800998ecf8427e"\ncontent-type: image/jpeg\n'
          "cache-control: public, max-age=31536000, immutable\n"
          "last-modified: Wed, 21 Oct 2015 07:28:00 GMT\nx-amz-meta-photo-id: p-1\n"
          "x-amz-meta-title: =?UTF-8?B?Q2Fmw6kgY3LDqG1l?=\n"
          "x-amz-meta-place: =?UTF-8?Q?Z=C3=BCrich_am_See?=\n\n")
    write("s3_response", "date", "Sun, 06 Nov 1994 08:49:37 GMT")
    write("s3_response", "rfc2047", "=?utf-8?b?8J+YgA==?=")

    item = {"Item": {
        "photoId": {"S": "a.jpg"}, "bucket": {"S": "originals"}, "objectKey": {"S": "a.jpg"},
        "processingStatus": {"S": "completed"}, "leaseUntil": {"N": "1700000000000"},
        "width": {"N": "4032"}, "height": {"N": "3024"}, "fileSize": {"N": "2190194"},
        "focalLength": {"N": "4.2"}, "fNumber": {"N": "2.8"}, "exposureSeconds": {"N": "0.004"},
        "iso": {"N": "1.0e2"}, "orientation": {"N": "6"}, "make": {"S": "Apple"},
        "gps": {"M": {"latitude": {"N": "48.8584"}, "longitude": {"N": "-2.2945e0"},
                      "altitude": {"N": "-0"}}},
        "blurhash": {"S": "LEHV6nWB2yk8pyo0adR*.7kCMdnj"}, "dominantColor": {"S": "#a0b0c0"},
        "unknown": {"BOOL": True}}}
    write("ddb_response", "getitem", json.dumps(item))
    write("ddb_response", "empty", "{}")
    write("ddb_response", "conditional",
          '{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",'
          '"message":"The conditional request failed"}')
    write("ddb_response", "throttle", '{"__type":"ThrottlingException"}')
    write("ddb_response", "numbers",
          json.dumps({"Item": {"width": {"N": "99999999999999999999"}, "height": {"N": "1.5"},
                               "fNumber": {"N": "NaN"}, "iso": {"N": "-9223372036854775808"}}}))


def http_seeds():
    for i, (etag, inm) in enumerate([
        ('"abc"', '"abc"'), ('abc', 'W/"abc", "def"'), ('"x"', '*'),
        ('"0123456789abcdef"', '  ,  W/"y" ,"0123456789abcdef"  '), ('"a"', '"b", W/ "a"'),
    ]):
        write("if_none_match", f"{i}", f"{etag}\n{inm}")
    sidecar = {"v": 1, "file": {"ino": 1234, "size": 5678, "mtimeSec": 1700000000,
                                "mtimeNsec": 123456789},
               "etag": "d41d8cd98f00b204e9800998ecf8427e", "contentType": "image/jpeg",
               "cacheControl": "public, max-age=60",
               "meta": {"photo-id": "p1", "title": "Caf\u00e9"}}
    write("sidecar", "put", json.dumps(sidecar))
    write("sidecar", "cached", json.dumps({"v": 1, "file": sidecar["file"], "etag": "e",
                                           "contentType": "", "cacheControl": "", "meta": {}}))
    write("sidecar", "odd", '{"file":{"ino":-1,"size":"5"},"meta":{"A":1,"b":"x"},"etag":null}')
    write("sidecar", "array", "[1,2,3]")

    secret = "x-origin-secret: fuzz-origin-secret\n"
    key = "x-api-key: fuzz-process-key-1\n"
    reqs = [
        "GET /healthz HTTP/1.1\nHost: x\n\n",
        "GET /readyz HTTP/1.1\n\n",
        "GET /metrics HTTP/1.1\nX-Request-Id: abc-123\n\n",
        f"GET /render/a.jpg?w=16 HTTP/1.1\n{secret}Accept: image/avif,image/webp,*/*\n\n",
        f"HEAD /render/a.jpg?w=8&fmt=jpeg&q=50 HTTP/1.1\n{secret}\n",
        f"GET /render/dir/b%20c.png?w=32&h=8&fit=cover&fmt=png HTTP/1.1\n{secret}\n",
        f'GET /render/a.jpg?w=16&fmt=webp HTTP/1.1\n{secret}If-None-Match: W/"x", "y"\n\n',
        "GET /render/a.jpg?w=16 HTTP/1.1\n\n",
        f"GET /render/?w=16 HTTP/1.1\n{secret}\n",
        f"GET /render/a.jpg?w=17&h=-1 HTTP/1.1\n{secret}\n",
        f"GET /render/a%00.jpg?w=%zz HTTP/1.1\n{secret}\n",
        f'POST /process HTTP/1.1\n{key}Content-Type: application/json\n\n'
        '{"bucket":"originals","key":"a.jpg"}',
        f'POST /process HTTP/1.1\n{key}\n'
        '{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"originals"},"object":{"key":"dir/b+c.png",'
        '"eTag":"x","sequencer":"0055AED6DCD90281"}}}]}',
        f'POST /process HTTP/1.1\n{key}\n'
        '{"detail-type":"Object Created","source":"aws.s3","detail":{"bucket":{"name":"originals"},'
        '"object":{"key":"none.jpg","etag":"e","sequencer":"0A"}}}',
        'POST /process HTTP/1.1\nx-api-key: wrong\n\n{"bucket":"originals","key":"a.jpg"}',
        "DELETE /process HTTP/1.1\n\n",
        "GET /nowhere HTTP/1.1\n\n",
        "PUT /healthz?x HTTP/1.1\r\nContent-Length: 3\r\n\r\n\nabc",
    ]
    for i, r in enumerate(reqs):
        write("http_request", f"{i:02d}", r)


def lambda_seeds():
    def url(method, path, query="", headers=None, body=None, b64=False):
        ev = {"version": "2.0", "routeKey": "$default", "rawPath": path,
              "rawQueryString": query, "headers": headers or {},
              "requestContext": {"http": {"method": method, "path": path,
                                          "sourceIp": "203.0.113.7"}},
              "isBase64Encoded": b64}
        if body is not None:
            ev["body"] = body
        return json.dumps(ev)
    secret = {"x-origin-secret": "fuzz-origin-secret", "accept": "image/webp,*/*"}
    key = {"x-api-key": "fuzz-process-key-1", "content-type": "application/json"}
    process = '{"bucket":"originals","key":"a.jpg"}'
    events = [
        url("GET", "/healthz"),
        url("GET", "/metrics", headers={"x-request-id": "abc-123"}),
        url("GET", "/render/a.jpg", "w=16&fmt=webp", secret),
        url("HEAD", "/render/dir/b%20c.png", "w=8&h=8&fit=cover", secret),
        url("GET", "/render/a.jpg", "w=16", {"x-origin-secret": "fuzz-origin-secret",
                                             "if-none-match": 'W/"x", "y"'}),
        url("GET", "/render/a.jpg", "w=%zz", secret),
        url("POST", "/process", headers=key, body=process),
        url("POST", "/process", headers=key, body="eyJidWNrZXQiOiJvcmlnaW5hbHMiLCJrZXkiOiJhLmpwZyJ9",
            b64=True),
        url("POST", "/process", headers=key, body="not base64!", b64=True),
        url("DELETE", "/process"),
        json.dumps({"rawPath": "/healthz", "requestContext": {"http": {}}}),
        process,
        json.dumps({"detail-type": "Object Created", "source": "aws.s3",
                    "detail": {"bucket": {"name": "originals"},
                               "object": {"key": "dir/b c.png", "etag": "e",
                                          "sequencer": "0A"}}}),
        json.dumps({"Records": [{"eventName": "ObjectCreated:Put",
                                 "s3": {"bucket": {"name": "originals"},
                                        "object": {"key": "dir/b+c.png", "eTag": "x",
                                                   "sequencer": "0055AED6DCD90281"}}}]}),
        '{"bucket":"originals","key":"none.jpg"}',
        "[]",
    ]
    for i, ev in enumerate(events):
        write("lambda", f"{i:02d}", ev)


def main():
    if not shutil.which("vips") or not shutil.which("exiftool"):
        sys.exit("make_seeds.py needs vips and exiftool (scripts/install-deps.sh dev)")
    for target in ("image_probe", "render", "jpeg_decode", "outmeta", "sigv4", "aws_creds",
                   "s3_response", "ddb_response", "if_none_match", "sidecar", "http_request",
                   "lambda"):
        for old in glob.glob(os.path.join(CORPUS, target, "seed-*")):
            os.remove(old)
    image_seeds()
    sigv4_seeds()
    aws_seeds()
    http_seeds()
    lambda_seeds()


if __name__ == "__main__":
    main()
