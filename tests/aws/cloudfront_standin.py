"""A CloudFront stand-in on loopback for CreateInvalidation, whose requests botocore checks:
every request's SigV4 signature is computed again by botocore (Debian python3-botocore) from
the request as it arrived (the headers it names in SignedHeaders, its body, its X-Amz-Date)
for the service "cloudfront" in us-east-1, and must equal the one sent; its XML
InvalidationBatch must be well formed (Quantity = the number of Paths, each path a URL path
with '*' only at its end, a CallerReference). A request that fails either check is answered
403 SignatureDoesNotMatch or 400 and recorded as such. Runs on a thread of the test.

    with CloudFrontStandIn("AKID", "SECRET", token) as cf:
        env["AWS_ENDPOINT_URL_CLOUDFRONT"] = cf.endpoint
        cf.fail_next(2, 503)              # the next two answers: 503
        ... cf.created  (the accepted invalidations, one per CallerReference)
"""
import datetime
import re
import threading
import types
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler
from unittest import mock

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from loopback import LoopbackServer

NS = "{http://cloudfront.amazonaws.com/doc/2020-05-31/}"
PATH = re.compile(r"^/2020-05-31/distribution/([A-Za-z0-9]+)/invalidation$")
LOCK = threading.Lock()


def _error(code, message):
    return ('<?xml version="1.0"?><ErrorResponse xmlns="http://cloudfront.amazonaws.com/doc/'
            f'2020-05-31/"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}'
            '</Message></Error><RequestId>standin</RequestId></ErrorResponse>').encode()


def botocore_signature(method, url, headers, body, creds):
    """The Authorization header botocore computes for this request (SigV4, cloudfront,
    us-east-1) at the request's own X-Amz-Date, over the headers it signed."""
    signed = re.search(r"SignedHeaders=([^,]+)", headers.get("authorization", ""))
    if not signed:
        return None
    names = signed.group(1).split(";")
    keep = {k: v for k, v in headers.items()
            if k in names and k not in ("host", "x-amz-date", "x-amz-security-token",
                                        "authorization")}
    when = datetime.datetime.strptime(headers.get("x-amz-date", ""), "%Y%m%dT%H%M%SZ")

    class Fixed(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return when

        @classmethod
        def now(cls, tz=None):
            return when.replace(tzinfo=tz) if tz else when

    req = AWSRequest(method=method, url=url, headers=keep, data=body)
    signer = botocore.auth.SigV4Auth(creds, "cloudfront", "us-east-1")
    with mock.patch.object(botocore.auth, "datetime", types.SimpleNamespace(datetime=Fixed)):
        signer.add_auth(req)
    return req.headers.get("Authorization")


class CloudFrontStandIn(LoopbackServer):
    def __init__(self, access_key, secret_key, token=None):
        self.creds = Credentials(access_key, secret_key, token)
        self.script = []     # statuses (and codes) to answer next, before checking
        self.requests = []   # every request: {dist, paths, ref, ok, why, status}
        self.created = {}    # CallerReference -> {dist, paths}
        cf = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def answer(self, status, body, location=None):
                self.send_response(status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(body)))
                if location:
                    self.send_header("Location", location)
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                rec = {"dist": None, "paths": [], "ref": None, "ok": False, "why": ""}
                with LOCK:
                    cf.requests.append(rec)
                    scripted = cf.script.pop(0) if cf.script else None
                if scripted:
                    rec["status"], rec["why"] = scripted[0], "scripted"
                    return self.answer(scripted[0], _error(scripted[1], "scripted"))
                m = PATH.match(self.path)
                if not m:
                    rec["why"] = f"path {self.path}"
                    return self.answer(404, _error("NoSuchDistribution", "no such path"))
                rec["dist"] = m.group(1)
                headers = {k.lower(): v for k, v in self.headers.items()}
                url = f"http://{headers.get('host', '')}{self.path}"
                want = botocore_signature("POST", url, headers, body, cf.creds)
                if want is None or want != headers.get("authorization") or (
                        cf.creds.token and headers.get("x-amz-security-token") !=
                        cf.creds.token):
                    rec["why"] = f"signature: sent {headers.get('authorization')!r}, " \
                                 f"botocore {want!r}"
                    rec["status"] = 403
                    return self.answer(403, _error("SignatureDoesNotMatch", "signature"))
                try:
                    root = ET.fromstring(body)
                    assert root.tag == NS + "InvalidationBatch", root.tag
                    qty = int(root.findtext(f"{NS}Paths/{NS}Quantity"))
                    paths = [p.text for p in root.findall(f"{NS}Paths/{NS}Items/{NS}Path")]
                    ref = root.findtext(f"{NS}CallerReference")
                    assert qty == len(paths) and 1 <= qty, f"Quantity {qty}, {len(paths)} paths"
                    for p in paths:
                        assert p.startswith("/") and "*" not in p[:-1] and " " not in p, p
                    assert ref, "no CallerReference"
                except (AssertionError, ET.ParseError, TypeError, ValueError) as why:
                    rec["why"], rec["status"] = f"batch: {why}", 400
                    return self.answer(400, _error("InvalidArgument", "batch"))
                rec.update(paths=paths, ref=ref, ok=True, status=201)
                with LOCK:
                    seen = cf.created.get(ref)
                    if seen and seen["paths"] != paths:
                        rec["status"] = 409
                        return self.answer(409, _error("InvalidationBatchAlreadyExists", "ref"))
                    cf.created[ref] = {"dist": rec["dist"], "paths": paths}
                inv = ('<?xml version="1.0"?><Invalidation xmlns="http://cloudfront.amazonaws'
                       '.com/doc/2020-05-31/"><Id>I1</Id><Status>InProgress</Status>'
                       '</Invalidation>').encode()
                self.answer(201, inv, f"https://cloudfront.amazonaws.com{self.path}/I1")

        LoopbackServer.__init__(self, Handler)

    def fail_next(self, n, status, code="ServiceUnavailable"):
        with LOCK:
            self.script += [(status, code)] * n
