"""The real binary as a Lambda function: started with AWS_LAMBDA_RUNTIME_API pointing at a
fake runtime API (fake_runtime.py) on loopback, on a backend from the integration
harness (folders + SQLite, or the S3 / DynamoDB stand-ins). For the Lambda tests and the
cold-start benchmark."""

import base64
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from enl_harness import BINARY, LocalBackend, TestProcess  # noqa: E402
from fake_runtime import FakeRuntime  # noqa: E402


def url_event(method, raw_path, query="", headers=None, body=None, b64=False):
    """A function URL request, payload format 2.0, as Lambda builds it: header names in
    lower case, the path and query as the client sent them (still percent-encoded)."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    if isinstance(body, bytes):
        body = base64.b64encode(body).decode() if b64 else body.decode()
    return {
        "version": "2.0", "routeKey": "$default", "rawPath": raw_path,
        "rawQueryString": query,
        "headers": {k.lower(): v for k, v in (headers or {}).items()},
        "requestContext": {
            "accountId": "anonymous", "apiId": "abcdefgh", "domainName":
            "abcdefgh.lambda-url.eu-west-1.on.aws", "domainPrefix": "abcdefgh",
            "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.9", "userAgent": "test"},
            "requestId": "req-1", "routeKey": "$default", "stage": "$default",
            "time": "06/Dec/2026:12:00:00 +0000", "timeEpoch": 1796558400000},
        "body": body, "isBase64Encoded": b64,
    }


class LambdaFn(TestProcess):
    """One function instance: its fake runtime API, its process, its log."""

    def __init__(self, backend=None, data=None, args=(), wait_ready=True, rt=None, **env):
        """rt: a FakeRuntime (with invocations already queued, say); default a new one."""
        self.dir = tempfile.mkdtemp(prefix="enl-lambda-")
        self.data = data or os.path.join(self.dir, "data")
        os.makedirs(os.path.join(self.data, "originals"), exist_ok=True)
        self.backend = backend or LocalBackend(self.data)
        self.rt = rt or FakeRuntime()
        self.log_path = os.path.join(self.dir, "function.log")
        e = dict(os.environ)
        e.pop("ENLARGER_LISTEN", None)
        e.update({"AWS_LAMBDA_RUNTIME_API": self.rt.api, "ENLARGER_DATA_DIR": self.data,
                  "ENLARGER_LOG_LEVEL": "info"})
        e.update(self.backend.env())
        e.update({k: str(v) for k, v in env.items()})
        self.log = open(self.log_path, "wb")
        self.started = time.monotonic()
        self.proc = subprocess.Popen([BINARY] + list(args), env=e, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        if wait_ready:
            self.wait_ready()

    def wait_ready(self, timeout=30):
        """Waits for the first GET next; returns the milliseconds since exec."""
        deadline = time.time() + timeout
        while not self.rt.next_calls:
            if self.proc.poll() is not None:
                raise RuntimeError("function exited at start:\n" + self.read_log())
            if time.time() > deadline:
                raise RuntimeError("no GET next within %ds" % timeout)
            time.sleep(0.002)
        return (self.rt.next_calls[0] - self.started) * 1000

    def invoke(self, event, **kw):
        return self.rt.invoke(event, **kw)

    def url(self, method, raw_path, query="", headers=None, body=None, b64=False, **kw):
        """A function URL request: (status, headers with lower-case names, body bytes,
        the function's response JSON). The body is decoded from base64 when so marked."""
        r = self.rt.invoke(url_event(method, raw_path, query, headers, body, b64), **kw)
        if r.kind != "response":
            raise AssertionError(f"function URL request answered {r}")
        j = r.json()
        body = j.get("body") or ""
        data = base64.b64decode(body) if j.get("isBase64Encoded") else body.encode()
        return j["statusCode"], {k.lower(): v for k, v in j.get("headers", {}).items()}, data, j

    def stop(self, timeout=30):
        """The runtime API goes away (next answers 500); returns the exit code."""
        self.rt.stop()
        rc = self.wait_exit(timeout)
        self.log.close()
        return rc

    def cleanup(self):
        super().cleanup()
        self.rt.close()
