"""A counting proxy in front of an S3 stand-in: every request is forwarded byte for byte
(the Host header too, so SigV4 signatures stay valid) to the upstream on loopback, and
counted by operation and bucket from the request line alone. It is the independent count
the tests hold enlarger_store_operations_total against: what the stand-in actually
received, not what enlarger says it sent. It also keeps each PUT's headers, which s3rver
does not all store (object tags: x-amz-tagging).

    with CountingProxy(upstream_port) as proxy:
        env["AWS_ENDPOINT_URL_S3"] = proxy.url
        ...
        proxy.counts()   # Counter({("head", "originals"): 1, ("get", "renders"): 1, ...})
        proxy.puts()     # [(path, {lower-cased header name: value}), ...] of every PUT

Operations: head, get, put, del, and list for a GET of a bucket with list-type (path-style
URLs: the first path segment is the bucket)."""

import collections
import http.client
import http.server
import threading
import urllib.parse

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te",
              "trailer", "upgrade"}


def operation(method, path):
    """(op, bucket) of an S3 request line, path-style."""
    u = urllib.parse.urlsplit(path)
    parts = u.path.lstrip("/").split("/", 1)
    bucket = urllib.parse.unquote(parts[0])
    has_key = len(parts) > 1 and parts[1] != ""
    q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
    if method == "GET" and not has_key and "list-type" in q:
        return "list", bucket
    return {"HEAD": "head", "GET": "get", "PUT": "put", "DELETE": "del",
            "POST": "post"}.get(method, method.lower()), bucket


class CountingProxy:
    def __init__(self, upstream_port, host="127.0.0.1"):
        self.upstream = (host, upstream_port)
        self._counts = collections.Counter()
        self._puts = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _forward(self):
                with proxy._lock:
                    proxy._counts[operation(self.command, self.path)] += 1
                    if self.command == "PUT":
                        proxy._puts.append((self.path, {k.lower(): v for k, v in
                                                        self.headers.items()}))
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                up = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                try:
                    up.putrequest(self.command, self.path, skip_host=True,
                                  skip_accept_encoding=True)
                    for k, v in self.headers.items():
                        if k.lower() not in HOP_BY_HOP:
                            up.putheader(k, v)
                    up.endheaders(body)
                    r = up.getresponse()
                    data = r.read()
                    self.send_response_only(r.status, r.reason)
                    for k, v in r.getheaders():
                        if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                            self.send_header(k, v)
                    if self.command == "HEAD":
                        length = r.getheader("Content-Length")
                        if length is not None:
                            self.send_header("Content-Length", length)
                    else:
                        self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD" and data:
                        self.wfile.write(data)
                finally:
                    up.close()

            do_GET = do_HEAD = do_PUT = do_DELETE = do_POST = _forward

        self.server = http.server.ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self._thread = None

    def __enter__(self):
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        return False

    def counts(self):
        """A copy of the counts so far: Counter of (op, bucket)."""
        with self._lock:
            return collections.Counter(self._counts)

    def puts(self):
        """Every PUT so far, in order: (raw path, {lower-cased header name: value})."""
        with self._lock:
            return list(self._puts)
