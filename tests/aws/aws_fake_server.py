"""A loopback HTTP/1.1 server playing the AWS endpoints the C unit tests need: the request
helper's and the credentials chain's, and the answers S3 and DynamoDB give only rarely
(throttling, 5xx, silence) for the store and table tests.

Started by tests/aws/aws_fake.h: prints "PORT <n>" on stdout, and exits when its stdin
closes (so it never outlives the test). Only the standard library.

Request-helper paths:
  /ok, /ok/...      200 with ETag, Content-Type, Cache-Control, Last-Modified, x-amz-meta-*
  /echo...          200, JSON of the method, raw path, headers and body length it received
  /flaky/<id>?n=K   503 for the first K hits of <id>, then 200
  /throttle/<id>    400 ThrottlingException JSON once, then 200
  /status/<code>    that status, a short body
  /big?len=N        N bytes with Content-Length;  /bigchunked?len=N: chunked, no length
  /hang             reads the request, never answers (until the client goes away)
  /_stats           JSON {"hits": {path: n}, "conns": {path: [connection ids]},
                    "scripted": requests answered by the script}
  /_last            JSON of the last scripted request: method, path, headers (names
                    lower-cased), signed_headers, unsigned_amz (x-amz-* headers sent but
                    not signed), signature_ok (SigV4 recomputed here with the secret set
                    by /_set?secret=..., and the payload hash checked against the body;
                    null when no secret is set)
Scripted answers (any other path, while a script is set):
  /_script?flavour=s3|dynamodb&answers=LETTERS
                    request n (from 0, counted from here) gets letter n, 'O' past the end.
                    s3: O the object "hello", S SlowDown 503, T RequestTimeout 400,
                        D AccessDenied 403, H never answer (until the client goes away)
                    dynamodb: O {}, T P R three kinds of throttling (400), U 503, I 500,
                        C conditional check failed, V validation error, A access
                        denied, X expired token
Credentials paths:
  /creds            container endpoint: checks Authorization against the expected token,
                    rotates keys at every fetch (AKID<n>/SECRET<n>/TOKEN<n>...)
  /latest/...       IMDSv2 (token PUT, role list, role credentials)
  /_set?k=v...      mode=ok|fail|forbidden, token=<expected auth token>, exp=<seconds>
"""
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, parse_qsl, quote, urlsplit

LOCK = threading.Lock()
HITS = {}
CONNS = {}
STATE = {"mode": "ok", "token": "", "exp": 3600, "n": 0, "imds_token": "imds-tok-123"}
SCRIPT = {"flavour": None, "answers": "", "n": 0}
LAST = {}  # the last scripted request, as /_last shows it

HELLO_ETAG = '"5d41402abc4b2a76b9719d911017c592"'  # MD5 of b"hello"
S3_ERRORS = {
    "S": (503, "<?xml version=\"1.0\"?><Error><Code>SlowDown</Code>"
               "<Message>Reduce your request rate.</Message></Error>"),
    "T": (400, "<Error><Code>RequestTimeout</Code></Error>"),
    "D": (403, "<Error><Code>AccessDenied</Code></Error>"),
}
DDB = "com.amazonaws.dynamodb.v20120810#"
DDB_ERRORS = {
    "T": (400, {"__type": DDB + "ThrottlingException", "message": "Rate exceeded"}),
    "P": (400, {"__type": DDB + "ProvisionedThroughputExceededException",
                "message": "slow down"}),
    "R": (400, {"__type": DDB + "RequestLimitExceeded"}),
    "U": (503, {}),
    "I": (500, {"__type": DDB + "InternalServerError"}),
    "A": (400, {"__type": DDB + "AccessDeniedException", "message": "not authorized"}),
    "X": (400, {"__type": "com.amazon.coral.service#ExpiredTokenException"}),
    "C": (400, {"__type": DDB + "ConditionalCheckFailedException",
                "message": "The conditional request failed"}),
    "V": (400, {"__type": "com.amazon.coral.validate#ValidationException", "message": "bad"}),
}


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def sigv4_check(method, raw_path, headers, body, secret):
    """Recomputes an S3 request's SigV4 signature as S3 would ("Signature Calculations for
    the Authorization Header" in the S3 API Reference): (signed header names, whether the
    signature and the payload hash match)."""
    auth = headers.get("authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return [], False
    fields = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
    signed = fields["SignedHeaders"].split(";")
    scope = fields["Credential"].split("/", 1)[1]
    day, region, service, _ = scope.split("/")
    u = urlsplit(raw_path)
    # S3 does not encode the path twice: the canonical URI is the path as sent.
    query = "&".join("%s=%s" % (quote(k, safe="-_.~"), quote(v, safe="-_.~"))
                     for k, v in sorted(parse_qsl(u.query, keep_blank_values=True)))
    canon_headers = "".join("%s:%s\n" % (n, " ".join(headers.get(n, "").split()))
                            for n in signed)
    payload = headers.get("x-amz-content-sha256", "")
    canonical = "\n".join([method, u.path, query, canon_headers, ";".join(signed), payload])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", headers.get("x-amz-date", ""), scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    want = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    ok = (hmac.compare_digest(want, fields["Signature"]) and
          payload == hashlib.sha256(body).hexdigest())
    return signed, ok


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body=b"", headers=(), chunked=False):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(body), 4096):
                part = body[i:i + 4096]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def handle_any(self):
        body = self.body()
        u = urlsplit(self.path)
        q = parse_qs(u.query, keep_blank_values=True)
        path = u.path
        with LOCK:
            HITS[path] = HITS.get(path, 0) + 1
            CONNS.setdefault(path, set()).add("%s:%d" % self.client_address)
            hits = HITS[path]
        if path == "/ok" or path.startswith("/ok/"):
            return self.send(200, b"hello", [
                ("ETag", HELLO_ETAG),
                ("Content-Type", "text/plain"),
                ("Cache-Control", "public, max-age=60"),
                ("Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT"),
                ("x-amz-meta-a", "one"), ("x-amz-meta-ab", "two")])
        if path.startswith("/echo"):
            doc = {"method": self.command, "path": self.path,
                   "headers": [[k, v] for k, v in self.headers.items()],
                   "body_len": len(body), "body": body.decode("utf-8", "replace")}
            return self.send(200, json.dumps(doc).encode(),
                             [("Content-Type", "application/json")])
        if path.startswith("/flaky/"):
            k = int(q.get("n", ["2"])[0])
            if hits <= k:
                return self.send(503, b"<Error><Code>SlowDown</Code></Error>")
            return self.send(200, b"finally")
        if path.startswith("/throttle/"):
            if hits == 1:
                return self.send(400, json.dumps({
                    "__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
                    "message": "Rate exceeded"}).encode(),
                    [("Content-Type", "application/x-amz-json-1.0")])
            return self.send(200, b"{}")
        if path.startswith("/status/"):
            code = int(path.split("/")[2])
            return self.send(code, b"status %d" % code)
        if path in ("/big", "/bigchunked"):
            n = int(q.get("len", ["100000"])[0])
            return self.send(200, b"x" * n, chunked=(path == "/bigchunked"))
        if path == "/hang":
            time.sleep(30)
            return None
        if path == "/_stats":
            with LOCK:
                doc = {"hits": HITS, "conns": {k: sorted(v) for k, v in CONNS.items()},
                       "scripted": SCRIPT["n"]}
                return self.send(200, json.dumps(doc).encode())
        if path == "/_last":
            with LOCK:
                return self.send(200, json.dumps(LAST).encode())
        if path == "/_script":
            with LOCK:
                SCRIPT.update(flavour=q["flavour"][0], answers=q.get("answers", [""])[0], n=0)
            return self.send(200, b"ok")
        if path == "/_set":
            with LOCK:
                for k, v in q.items():
                    STATE[k] = v[0]
            return self.send(200, b"ok")
        if path == "/creds":
            return self.creds(self.headers.get("Authorization", ""))
        if path.startswith("/latest/"):
            return self.imds(path)
        if SCRIPT["flavour"]:
            self.record(body)
            return self.scripted()
        return self.send(404, b"no such path")

    def record(self, body):
        headers = {k.lower(): v for k, v in self.headers.items()}
        with LOCK:
            secret = STATE.get("secret")
        try:
            signed, ok = sigv4_check(self.command, self.path, headers, body, secret or "")
        except (KeyError, ValueError):  # an Authorization header that does not parse
            signed, ok = [], False
        with LOCK:
            LAST.clear()
            LAST.update(method=self.command, path=self.path, headers=headers,
                        signed_headers=signed,
                        unsigned_amz=sorted(n for n in headers
                                            if n.startswith("x-amz-") and n not in signed),
                        signature_ok=ok if secret else None)

    def scripted(self):
        with LOCK:
            n = SCRIPT["n"]
            SCRIPT["n"] += 1
            flavour, answers = SCRIPT["flavour"], SCRIPT["answers"]
        what = answers[n] if n < len(answers) else "O"
        if what == "H":
            # Never answer; keep the connection until the client gives up on it.
            self.close_connection = True
            while self.rfile.read(1):
                pass
            return None
        if flavour == "s3":
            status, body = S3_ERRORS.get(what, (200, "hello"))
            return self.send(status, body.encode(), [("ETag", HELLO_ETAG),
                                                     ("Content-Type", "text/plain")])
        status, doc = DDB_ERRORS.get(what, (200, {}))
        return self.send(status, json.dumps(doc).encode(),
                         [("Content-Type", "application/x-amz-json-1.0")])

    def creds_doc(self):
        with LOCK:
            STATE["n"] += 1
            n = STATE["n"]
            exp = float(STATE["exp"])
        pad = "%d" % n * 300  # a long token, so a torn copy would show
        return json.dumps({"AccessKeyId": "AKID%d" % n, "SecretAccessKey": "SECRET%d" % n,
                           "Token": "TOKEN%d-%s-%d" % (n, pad, n),
                           "Expiration": iso(time.time() + exp), "Code": "Success",
                           "RoleArn": "arn:aws:iam::123456789012:role/test"}).encode()

    def creds(self, auth):
        with LOCK:
            mode, token = STATE["mode"], STATE["token"]
        if mode == "fail":
            return self.send(500, b"internal")
        if mode == "forbidden" or (token and auth != token):
            return self.send(403, b"forbidden")
        if mode == "garbage":
            return self.send(200, b"{not json")
        return self.send(200, self.creds_doc(), [("Content-Type", "application/json")])

    def imds(self, path):
        with LOCK:
            mode = STATE["mode"]
        if mode == "fail":
            return self.send(500, b"internal")
        if path == "/latest/api/token":
            if self.command != "PUT" or not self.headers.get(
                    "X-aws-ec2-metadata-token-ttl-seconds"):
                return self.send(400, b"bad token request")
            return self.send(200, STATE["imds_token"].encode())
        if self.headers.get("X-aws-ec2-metadata-token") != STATE["imds_token"]:
            return self.send(401, b"")
        if path == "/latest/meta-data/iam/security-credentials/":
            return self.send(200, b"my role+1\n")
        if path == "/latest/meta-data/iam/security-credentials/my%20role%2B1":
            return self.send(200, self.creds_doc())
        return self.send(404, b"")

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # Clients that hang up mid-answer (the body cap test) are expected, not news.
        if not isinstance(sys.exc_info()[1], (ConnectionError, BrokenPipeError)):
            super().handle_error(request, client_address)


def main():
    srv = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    sys.stdout.write("PORT %d\n" % srv.server_address[1])
    sys.stdout.flush()
    sys.stdin.read()  # until the test closes the pipe or exits
    os._exit(0)


if __name__ == "__main__":
    main()
