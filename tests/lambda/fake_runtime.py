"""A fake Lambda runtime API (version 2018-06-01) on loopback, as AWS's runtime interface
emulator behaves towards a custom runtime: it queues invocations, hands each to one
GET /runtime/invocation/next (which waits as long as it takes), and records what the
runtime posts back: the response, the error (body and Lambda-Runtime-Function-Error-Type)
or the start-up error. Like the emulator it answers 202 to a post it accepts, 413 to a
response past the payload limit (and fails the invocation itself), and 403 to a post
that does not fit the state (no such invocation in flight, a second answer); those
are also kept in `violations`, which a test expects to stay empty. Python stdlib only.

    rt = FakeRuntime()                 # listening; rt.api is "127.0.0.1:<port>"
    r = rt.invoke({"rawPath": ...}, deadline_ms=..., trace_id=...)   # waits for the answer
    r.kind ("response" / "error" / "too-large"), r.json(), r.error_type, r.headers
    rt.init_errors                     # [(error_type, body bytes)]
    rt.stop()                          # next answers 500: the runtime should exit
"""

import http.server
import json
import queue
import socket
import threading
import time
import uuid

API = "/2018-06-01/runtime"
# interop.MaxPayloadSize in the emulator: 6 MiB and a little slack.
MAX_PAYLOAD = 6 * 1024 * 1024 + 100
ARN = "arn:aws:lambda:eu-west-1:123456789012:function:enlarger"


class Result:
    def __init__(self, kind, body, headers, error_type=None):
        self.kind = kind
        self.body = body
        self.headers = headers
        self.error_type = error_type

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"Result({self.kind}, {self.error_type}, {self.body[:200]!r})"


class _Invocation:
    def __init__(self, event, deadline_ms, trace_id):
        self.id = str(uuid.uuid4())
        self.event = event
        self.deadline_ms = deadline_ms
        self.trace_id = trace_id
        self.done = threading.Event()
        self.result = None
        self.handed_at = None  # time.monotonic() of the GET next that took it
        self.answered_at = None  # ... of the post that answered it


class FakeRuntime:
    def __init__(self, max_payload=MAX_PAYLOAD):
        self.max_payload = max_payload
        self.pending = queue.Queue()
        self.in_flight = {}  # id -> _Invocation handed to the runtime, not answered yet
        self.lock = threading.Lock()
        self.init_errors = []
        self.violations = []
        self.next_calls = []  # time.monotonic() of each GET next
        self.stopped = False
        rt = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def setup(self):
                super().setup()
                # One answer, one segment: without it the body waits out a delayed ACK.
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _send(self, status, body=b"", headers=None):
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _status(self, status, error_type, message):
                self._send(status, json.dumps({"errorType": error_type,
                                               "errorMessage": message}).encode(),
                           {"Content-Type": "application/json"})

            def do_GET(self):
                if self.path != API + "/invocation/next":
                    return self._status(404, "NotFound", self.path)
                rt.next_calls.append(time.monotonic())
                with rt.lock:
                    if rt.in_flight:
                        rt.violations.append("next while an invocation is unanswered")
                inv = rt.pending.get()
                if inv is None:  # stop(): the emulator's "container error"
                    rt.pending.put(None)
                    return self._status(500, "ContainerError", "stopping")
                with rt.lock:
                    inv.handed_at = time.monotonic()
                    rt.in_flight[inv.id] = inv
                h = {"Content-Type": "application/json",
                     "Lambda-Runtime-Aws-Request-Id": inv.id,
                     "Lambda-Runtime-Invoked-Function-Arn": ARN}
                if inv.deadline_ms is not None:
                    h["Lambda-Runtime-Deadline-Ms"] = str(inv.deadline_ms)
                if inv.trace_id:
                    h["Lambda-Runtime-Trace-Id"] = inv.trace_id
                self._send(200, inv.event, h)

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                headers = {k.lower(): v for k, v in self.headers.items()}
                if self.path == API + "/init/error":
                    rt.init_errors.append(
                        (self.headers.get("Lambda-Runtime-Function-Error-Type"), body))
                    return self._status(202, "", "accepted")
                parts = self.path[len(API):].split("/")
                # ['', 'invocation', id, 'response' | 'error']
                if len(parts) != 4 or parts[1] != "invocation" or \
                        parts[3] not in ("response", "error"):
                    return self._status(404, "NotFound", self.path)
                with rt.lock:
                    inv = rt.in_flight.pop(parts[2], None)
                if inv is None:
                    rt.violations.append(f"{parts[3]} for {parts[2]}, not in flight")
                    return self._status(403, "InvalidStateTransition",
                                        "no such invocation in flight")
                inv.answered_at = time.monotonic()
                if parts[3] == "response" and len(body) > rt.max_payload:
                    inv.result = Result("too-large", body, headers,
                                        "Function.ResponseSizeTooLarge")
                    inv.done.set()
                    return self._status(413, "RequestEntityTooLarge",
                                        f"{len(body)} bytes over {rt.max_payload}")
                if parts[3] == "error":
                    inv.result = Result("error", body, headers,
                                        self.headers.get("Lambda-Runtime-Function-Error-Type"))
                else:
                    inv.result = Result("response", body, headers)
                inv.done.set()
                self._status(202, "", "accepted")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.api = f"127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def submit(self, event, deadline_ms=None, trace_id=None):
        """Queues an invocation (event: dict, str or bytes) and returns it; deadline_ms
        defaults to 60 s from now."""
        if isinstance(event, (dict, list)):
            event = json.dumps(event).encode()
        elif isinstance(event, str):
            event = event.encode()
        if deadline_ms is None:
            deadline_ms = int(time.time() * 1000) + 60000
        inv = _Invocation(event, deadline_ms, trace_id)
        self.pending.put(inv)
        return inv

    def invoke(self, event, deadline_ms=None, trace_id=None, timeout=120):
        """Queues an invocation and waits for what the runtime posts back (a Result)."""
        inv = self.submit(event, deadline_ms, trace_id)
        if not inv.done.wait(timeout):
            raise TimeoutError("no answer to invocation " + inv.id)
        return inv.result

    def stop(self):
        """From now on next answers 500, after which the runtime should exit."""
        self.stopped = True
        self.pending.put(None)

    def close(self):
        self.stop()
        self.server.shutdown()
        self.server.server_close()
