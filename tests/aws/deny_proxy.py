"""A loopback HTTP proxy in front of a stand-in (s3rver or dynalite) that can be switched to
refuse every request the way AWS refuses a role that lacks a permission: S3 answers 403
AccessDenied (XML), DynamoDB 400 AccessDeniedException (JSON). Everything else is passed
through unchanged. Runs on a thread of the test; standard library only.

    with DenyProxy(st.s3_endpoint, "s3") as p:
        env["AWS_ENDPOINT_URL_S3"] = p.endpoint
        p.deny = True   # from now on: 403
"""
import http.client
import urllib.parse
from http.server import BaseHTTPRequestHandler

from loopback import LoopbackServer

S3_DENIED = (403, "application/xml",
             b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
             b"<Message>Access Denied</Message><RequestId>DENYPROXY0001</RequestId></Error>")
# An expired session token: 400, not 403 (a HEAD gets the status alone).
S3_EXPIRED = (400, "application/xml",
              b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>ExpiredToken</Code>'
              b"<Message>The provided token has expired.</Message>"
              b"<RequestId>DENYPROXY0002</RequestId></Error>")
DDB_DENIED = (400, "application/x-amz-json-1.0",
              b'{"__type":"com.amazon.coral.service#AccessDeniedException","Message":'
              b'"User: arn:aws:sts::123456789012:assumed-role/enlarger/task is not authorized '
              b'to perform: dynamodb:UpdateItem"}')


class DenyProxy(LoopbackServer):
    def __init__(self, upstream, flavour):
        u = urllib.parse.urlsplit(upstream)
        self.host, self.port_up = u.hostname, u.port
        self.denied = S3_DENIED if flavour == "s3" else DDB_DENIED  # settable: S3_EXPIRED
        self.deny = False
        self.methods = None  # deny only these methods ({"DELETE"}); None: every one
        self.refused = 0  # requests answered with the refusal
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def handle_any(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                if proxy.deny and (proxy.methods is None or self.command in proxy.methods):
                    proxy.refused += 1
                    status, ctype, data = proxy.denied
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                    return
                c = http.client.HTTPConnection(proxy.host, proxy.port_up, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items()
                               if k.lower() not in ("connection", "keep-alive")}
                    c.request(self.command, self.path, body=body, headers=headers)
                    r = c.getresponse()
                    data = r.read()
                    self.send_response(r.status)
                    for k, v in r.getheaders():
                        if k.lower() not in ("connection", "keep-alive", "transfer-encoding",
                                             "content-length"):
                            self.send_header(k, v)
                    # A HEAD's Content-Length is the object's, not the (empty) body's.
                    length = r.getheader("Content-Length") if self.command == "HEAD" else None
                    self.send_header("Content-Length", length or str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                finally:
                    c.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any

        LoopbackServer.__init__(self, Handler)
