"""Shared helpers for the integration tests: start the real binary on a free port with a
temporary data dir, speak HTTP with the standard library, make test images with the vips
CLI, and check responses against api/openapi.yaml. Python stdlib + Debian python3-yaml."""

import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

SOURCE = os.environ.get("ENL_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BINARY = os.environ.get("ENL_BINARY", "")

FAILURES = []


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL:", what, flush=True)
    return cond


def done():
    if FAILURES:
        print(f"{len(FAILURES)} failure(s)")
        for f in FAILURES:
            print("  -", f)
        sys.exit(1)
    print("all checks passed")
    sys.exit(0)


def need_tools(*tools):
    missing = [t for t in tools if not shutil.which(t)]
    if missing or not BINARY or not os.path.exists(BINARY):
        print("skip: missing", missing or ["ENL_BINARY"])
        sys.exit(77)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Item(dict):
    """A photo item as a flat dict; an attribute the item lacks reads as None."""

    def __missing__(self, key):
        return None


class LocalBackend:
    """The embedded default read and written the way a user (or another process) would,
    never through enlarger's code: object files under <data>/<bucket>/<key>, their
    metadata sidecars under <data>/.meta/<bucket>/<key>.json (the format of
    src/store/local_sidecar.c), and the photo rows with Python's sqlite3."""

    name = "local"
    store_name = "local"

    def __init__(self, data):
        self.data = data

    def env(self):
        return {"ENLARGER_DATA_DIR": self.data, "ENLARGER_WATCH": "0"}

    def put_original(self, key, data, meta=None):
        """Writes an original the way an upload would land: temp file, then rename.
        meta (user metadata, e.g. {"photo-id": ...}) goes into the sidecar. Returns
        the MD5 (the ETag)."""
        path = os.path.join(self.data, "originals", key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = os.path.join(os.path.dirname(path), ".upload-" + str(os.getpid()))
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        etag = hashlib.md5(data).hexdigest()
        side = os.path.join(self.data, ".meta", "originals", key + ".json")
        if meta:
            st = os.stat(path)
            os.makedirs(os.path.dirname(side), exist_ok=True)
            doc = {"v": 1, "file": {"ino": st.st_ino, "size": st.st_size,
                                    "mtimeSec": st.st_mtime_ns // 10**9,
                                    "mtimeNsec": st.st_mtime_ns % 10**9},
                   "etag": etag, "contentType": "", "cacheControl": "",
                   "meta": {k.lower(): v for k, v in meta.items()}}
            with open(side + ".tmp", "w") as f:
                json.dump(doc, f)
            os.replace(side + ".tmp", side)
        elif os.path.exists(side):
            os.unlink(side)
        return etag

    def delete_original(self, key):
        """Deletes an original the way a photographer's delete would (its sidecar too)."""
        for path in (os.path.join(self.data, "originals", key),
                     os.path.join(self.data, ".meta", "originals", key + ".json")):
            if os.path.exists(path):
                os.unlink(path)

    def get_object(self, bucket, key):
        """(bytes, Content-Type, Cache-Control), or None when there is no object."""
        path = os.path.join(self.data, bucket, key)
        try:
            with open(path, "rb") as f:
                body = f.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        ctype = cache = None
        try:
            with open(os.path.join(self.data, ".meta", bucket, key + ".json")) as f:
                doc = json.load(f)
            if doc.get("file", {}).get("size") == len(body):
                ctype, cache = doc.get("contentType") or None, doc.get("cacheControl") or None
        except (OSError, ValueError):
            pass
        return body, ctype, cache

    def list_keys(self, bucket, prefix=""):
        root = os.path.join(self.data, bucket)
        out = []
        for d, dirs, files in os.walk(root):
            dirs[:] = [x for x in dirs if not x.startswith(".")]
            for name in files:
                if name.startswith("."):
                    continue
                k = os.path.relpath(os.path.join(d, name), root)
                if k.startswith(prefix):
                    out.append(k)
        return sorted(out)

    def db(self):
        import sqlite3
        c = sqlite3.connect(os.path.join(self.data, ".table", "photos.db"), timeout=10)
        c.row_factory = sqlite3.Row
        return c

    def item(self, photo_id):
        c = self.db()
        try:
            r = c.execute("SELECT * FROM photos WHERE photoId = ?", (photo_id,)).fetchone()
            return _Item(dict(r)) if r else None
        finally:
            c.close()

    def seed_item(self, photo_id, status, etag, attempt, lease_until_ms):
        """An item as another attempt left it (the 429 in-flight case)."""
        c = self.db()
        try:
            c.execute("INSERT INTO photos (photoId, processingStatus, etag, attempt, "
                      "leaseUntil) VALUES (?, ?, ?, ?, ?)",
                      (photo_id, status, etag, attempt, lease_until_ms))
            c.commit()
        finally:
            c.close()


class AwsBackend:
    """S3 and DynamoDB stand-ins (tests/aws/standins.py) read and written with botocore,
    never through enlarger's code. Items come back flat like the SQLite rows: S as str,
    N as int or float, the gps map as gpsLatitude/gpsLongitude/gpsAltitude."""

    name = "aws"
    store_name = "s3"

    def __init__(self, standins, table="photos"):
        self.st = standins
        self.table = table
        self.s3 = standins.client("s3")
        self.ddb = standins.client("dynamodb")

    def env(self):
        e = dict(self.st.env())
        e["ENLARGER_BACKEND"] = "aws"
        return e

    def put_original(self, key, data, meta=None):
        kw = {"Metadata": dict(meta)} if meta else {}
        self.s3.put_object(Bucket="originals", Key=key, Body=data, **kw)
        return hashlib.md5(data).hexdigest()

    def delete_original(self, key):
        self.s3.delete_object(Bucket="originals", Key=key)

    def get_object(self, bucket, key):
        try:
            r = self.s3.get_object(Bucket=bucket, Key=key)
        except self.s3.exceptions.NoSuchKey:
            return None
        return r["Body"].read(), r.get("ContentType"), r.get("CacheControl")

    def list_keys(self, bucket, prefix=""):
        out = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                       Prefix=prefix):
            out += [o["Key"] for o in page.get("Contents", [])]
        return sorted(out)

    @staticmethod
    def _value(av):
        if "S" in av:
            return av["S"]
        if "N" in av:
            n = av["N"]
            return int(n) if re.fullmatch(r"-?\d+", n) else float(n)
        if "BOOL" in av:
            return av["BOOL"]
        if "NULL" in av:
            return None
        if "M" in av:
            return {k: AwsBackend._value(v) for k, v in av["M"].items()}
        raise ValueError(f"unexpected attribute type {av}")

    def raw_item(self, photo_id):
        """The item with its DynamoDB types ({"S": ..}, {"N": ..}, {"M": ..})."""
        return self.ddb.get_item(TableName=self.table, Key={"photoId": {"S": photo_id}},
                                 ConsistentRead=True).get("Item")

    def item(self, photo_id):
        raw = self.raw_item(photo_id)
        if raw is None:
            return None
        out = _Item()
        for k, av in raw.items():
            v = self._value(av)
            if k == "gps" and isinstance(v, dict):
                for m in ("latitude", "longitude", "altitude"):
                    if m in v:
                        out["gps" + m.capitalize()] = v[m]
            else:
                out[k] = v
        return out

    def seed_item(self, photo_id, status, etag, attempt, lease_until_ms):
        self.ddb.put_item(TableName=self.table, Item={
            "photoId": {"S": photo_id}, "processingStatus": {"S": status},
            "etag": {"S": etag}, "attempt": {"S": attempt},
            "leaseUntil": {"N": str(lease_until_ms)}})


class TestProcess:
    """What the harness's processes share (Server, and the Lambda tests' LambdaFn): the
    process (self.proc), its folder (self.dir), its log (self.log, opened for writing at
    self.log_path) and its backend (self.backend)."""

    def read_log(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def log_lines(self):
        out = []
        for line in self.read_log().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def wait_exit(self, timeout=30):
        """The exit code, once the process ends; killed after timeout seconds."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if not self.log.closed:
            self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def row(self, photo_id):
        """The photo item as a flat dict (None when there is none), from the backend."""
        return self.backend.item(photo_id)

    def put_original(self, key, data, meta=None):
        return self.backend.put_original(key, data, meta)


def standins_or_skip():
    """The S3 and DynamoDB stand-ins (tests/aws/standins.py, not started yet) with the four
    buckets and the photos table; exits 77 (skip) when they are not installed."""
    from standins import Skip, StandIns
    try:
        return StandIns(buckets=["originals", "thumbnails", "optimized", "renders"],
                        table="photos")
    except Skip as why:
        print(f"skip: {why}")
        sys.exit(77)


def pipeline_runs(proc):
    """How often each photo id went through the pipeline (its "pipeline run" lines)."""
    import collections
    return collections.Counter(l.get("photoId") for l in proc.log_lines()
                               if l.get("msg") == "pipeline run")


def write_file(folder, name, data):
    """data as folder/name; returns the path."""
    path = os.path.join(folder, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


class Server(TestProcess):
    """The real binary on a free port, on backend (a fresh LocalBackend in this
    server's own folder when None). Logs go to a file the tests read."""

    def __init__(self, backend=None, data=None, port=None, host="127.0.0.1", wrap=(), **env):
        """data: an existing data folder (e.g. an earlier server's) to start on; port: the
        port to listen on (a restart keeps its predecessor's); host: the address it listens
        on (requests go to 127.0.0.1 either way); wrap: a command line the binary runs
        under (e.g. taskset -c 0)."""
        self.dir = tempfile.mkdtemp(prefix="enl-it-")
        self.data = data or os.path.join(self.dir, "data")
        os.makedirs(os.path.join(self.data, "originals"), exist_ok=True)
        self.backend = backend or LocalBackend(self.data)
        self.port = port or free_port()
        self.log_path = os.path.join(self.dir, "server.log")
        e = dict(os.environ)
        e.update({
            "ENLARGER_LISTEN": f"{host}:{self.port}",
            "ENLARGER_DATA_DIR": self.data,
            "ENLARGER_LOG_LEVEL": "info",
        })
        e.update(self.backend.env())
        e.update({k: str(v) for k, v in env.items()})
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(list(wrap) + [BINARY, "serve"], env=e, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited at start:\n" + self.read_log())
            try:
                st, _, _ = self.request("GET", "/healthz", timeout=1)
                if st == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not come up")

    def request(self, method, path, body=None, headers=None, timeout=60):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
            elif isinstance(body, str):
                body = body.encode()
            h = {"Content-Type": "application/json"} if body is not None else {}
            h.update(headers or {})
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def metric(self, name):
        st, _, body = self.request("GET", "/metrics")
        for line in body.decode().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        return None

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        rc = self.wait_exit(timeout)
        self.log.close()
        return rc


def store_ops(srv):
    """{(op, bucket): count} from enlarger_store_operations_total."""
    st, _, body = srv.request("GET", "/metrics")
    out = {}
    for m in re.finditer(r'^enlarger_store_operations_total\{op="(\w+)",bucket="(\w+)"\} (\S+)$',
                         body.decode(), re.M):
        out[(m.group(1), m.group(2))] = float(m.group(3))
    return out


def delta(after, before):
    """What changed between two counter snapshots (store_ops)."""
    return {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}


def wait_until(what, fn, timeout=30):
    """Polls fn until it is true; a check failure naming what after timeout seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if fn():
            return True
        time.sleep(0.1)
    return check(fn(), f"{what} (waited {timeout} s)")


# ---- images -------------------------------------------------------------------------

def run(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_image(path, w, h, fmt_opts=""):
    """A noisy (so not trivially compressible) RGB image written by the vips CLI."""
    d = tempfile.mkdtemp(prefix="enl-img-")
    try:
        run("vips", "gaussnoise", os.path.join(d, "n.v"), str(w), str(h), "--mean", "128",
            "--sigma", "40")
        run("vips", "bandjoin_const", os.path.join(d, "n.v"), os.path.join(d, "c.v"), "90 200")
        run("vips", "cast", os.path.join(d, "c.v"), os.path.join(d, "u.v"), "uchar")
        run("vips", "copy", os.path.join(d, "u.v"), path + fmt_opts)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    with open(path, "rb") as f:
        return f.read()


def proc_status_bytes(pid, field):
    """A /proc/<pid>/status size field (VmRSS, VmHWM, ...) in bytes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def make_enlarged_noise(path, w, h, scale, fmt_opts=""):
    """Noise of w x h resized by scale (4: a 24 MP JPEG from 1500 x 1000), so it is smooth
    at the pixel level, as a photo is, and neither trivial nor huge once compressed."""
    d = tempfile.mkdtemp(prefix="enl-img-")
    try:
        run("vips", "gaussnoise", os.path.join(d, "n.v"), str(w), str(h), "--mean", "128",
            "--sigma", "50")
        run("vips", "colourspace", os.path.join(d, "n.v"), os.path.join(d, "n3.v"), "srgb")
        run("vips", "resize", os.path.join(d, "n3.v"), path + fmt_opts, str(scale))
    finally:
        shutil.rmtree(d, ignore_errors=True)
    with open(path, "rb") as f:
        return f.read()


def add_gps(path):
    run("exiftool", "-q", "-overwrite_original", "-Make=TestCam", "-Model=T1",
        "-GPSLatitude=48.8584", "-GPSLatitudeRef=N", "-GPSLongitude=2.2945",
        "-GPSLongitudeRef=E", "-GPSAltitude=35", path)
    with open(path, "rb") as f:
        return f.read()


def pixel_bomb_png(w=50000, h=50000):
    """A PNG whose header claims w x h but whose data is a few bytes: under 1 KB."""
    import struct
    import zlib

    def chunk(t, d):
        c = struct.pack(">I", len(d)) + t + d
        return c + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def vipsheader(path_or_bytes):
    """(width, height, loader) of a file or of bytes, from the vipsheader CLI (the oracle)."""
    tmp = None
    path = path_or_bytes
    if isinstance(path_or_bytes, bytes):
        fd, tmp = tempfile.mkstemp(prefix="enl-hdr-")
        os.write(fd, path_or_bytes)
        os.close(fd)
        path = tmp
    try:
        out = subprocess.run(["vipsheader", "-a", path], check=True, capture_output=True,
                             text=True).stdout
        fields = {}
        for line in out.splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                fields[k.strip()] = v.strip()
        return int(fields["width"]), int(fields["height"]), fields.get("vips-loader", "")
    finally:
        if tmp:
            os.unlink(tmp)


def exif_tags(path):
    out = subprocess.run(["exiftool", "-json", "-n", "-a", "-G1", path], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)[0]


def gps_tags(path):
    """The GPS tags exiftool finds in the file (none may be left in an output)."""
    return [k for k in exif_tags(path) if "GPS" in k]


# ---- events -------------------------------------------------------------------------

def eventbridge(bucket, key, sequencer="617f08299329d189", encode=True, deleted=False):
    """An S3 "Object Created" event as EventBridge sends it (the key URL-encoded unless
    encode is False); deleted: "Object Deleted", which has no ETag and no size."""
    k = urllib.parse.quote_plus(key, safe="/") if encode else key
    ev = {
        "version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": "Object Created", "source": "aws.s3", "account": "123456789012",
        "time": "2024-11-25T12:00:00Z", "region": "eu-west-1",
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {"version": "0", "bucket": {"name": bucket},
                   "object": {"key": k, "size": 5, "etag": "b1946ac92492d2347c6235b4d2611184",
                              "sequencer": sequencer},
                   "request-id": "N4N7GDK58NMKJ12R", "requester": "123456789012",
                   "reason": "PutObject"},
    }
    if deleted:
        ev["detail-type"] = "Object Deleted"
        for k in ("size", "etag"):
            del ev["detail"]["object"][k]
        ev["detail"].update({"reason": "DeleteObject", "deletion-type": "Permanently Deleted"})
    return ev


def s3_record(bucket, key, sequencer="0055AED6DCD90281E5", event="ObjectCreated:Put"):
    return {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "eu-west-1",
        "eventTime": "2024-11-25T12:00:00.000Z", "eventName": event,
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket},
               "object": {"key": urllib.parse.quote_plus(key, safe="/"), "size": 5,
                          "eTag": "0123456789abcdef0123456789abcdef",
                          "sequencer": sequencer}}}]}


def render_path(key, **q):
    return "/render/" + urllib.parse.quote(key, safe="/") + "?" + urllib.parse.urlencode(q)


# ---- OpenAPI ------------------------------------------------------------------------

class OpenAPI:
    """Checks real responses against api/openapi.yaml: the operation exists, the status is
    documented for it, the content type is one the status documents, every header the
    spec marks required is present and every documented header that is present fits its
    schema, and a JSON body validates against the status's schema with a full JSON Schema
    2020-12 validator (Debian's python3-jsonschema; OpenAPI 3.1 schemas are JSON Schema),
    $refs resolved from the spec, formats date-time and uri checked."""

    def __init__(self):
        import jsonschema
        import yaml
        with open(os.path.join(SOURCE, "api", "openapi.yaml")) as f:
            self.spec = yaml.safe_load(f)
        self.jsonschema = jsonschema
        self.formats = jsonschema.FormatChecker(formats=())

        @self.formats.checks("date-time")
        def _date_time(v):
            return not isinstance(v, str) or re.fullmatch(
                r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", v) is not None

        @self.formats.checks("uri")
        def _uri(v):
            return not isinstance(v, str) or re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*:\S+", v) is not None

        self.paths = []
        for template, item in self.spec["paths"].items():
            rx = "^" + re.sub(r"\\{key\\}", ".+", re.escape(template)) + "$"
            self.paths.append((re.compile(rx), template, item))
        self.validators = {}

    def resolve(self, node):
        while isinstance(node, dict) and "$ref" in node:
            cur = self.spec
            for part in node["$ref"].lstrip("#/").split("/"):
                cur = cur[part.replace("~1", "/").replace("~0", "~")]
            node = cur
        return node

    def inline(self, node, depth=0):
        """node with every $ref replaced by its target (the spec has no cycles)."""
        if depth > 50:
            raise ValueError("$ref nesting too deep")
        node = self.resolve(node)
        if isinstance(node, dict):
            return {k: self.inline(v, depth + 1) for k, v in node.items()}
        if isinstance(node, list):
            return [self.inline(v, depth + 1) for v in node]
        return node

    def validator(self, schema):
        key = json.dumps(schema, sort_keys=True)
        v = self.validators.get(key)
        if v is None:
            full = self.inline(schema)
            cls = self.jsonschema.Draft202012Validator
            cls.check_schema(full)
            v = self.validators[key] = cls(full, format_checker=self.formats)
        return v

    def errors(self, schema, value, where="body"):
        out = []
        for err in self.validator(schema).iter_errors(value):
            path = "".join(f"[{p!r}]" for p in err.absolute_path)
            out.append(f"{where}{path}: {err.message}")
        return out

    def header_errors(self, resp, headers, where):
        errs = []
        for name, h in (resp.get("headers") or {}).items():
            h = self.resolve(h)
            value = headers.get(name.lower())
            if value is None:
                if h.get("required"):
                    errs.append(f"{where}: required header {name} missing")
                continue
            schema = h.get("schema")
            if not schema:
                continue
            if self.resolve(schema).get("type") == "integer":
                try:
                    value = int(value)
                except ValueError:
                    errs.append(f"{where}: header {name}: {value!r} is not an integer")
                    continue
            errs += self.errors(schema, value, f"{where}: header {name}")
        return errs

    def check(self, method, path, status, headers, body):
        """Returns a list of mismatches (empty when the response fits the spec)."""
        p = path.split("?", 1)[0]
        for rx, template, item in self.paths:
            if rx.match(p):
                break
        else:
            return [f"{path}: no such path in the spec"]
        op = item.get(method.lower())
        if not op:
            return [f"{method} {template}: not in the spec"]
        resp = op["responses"].get(str(status))
        if not resp:
            return [f"{method} {template}: status {status} not documented"]
        resp = self.resolve(resp)
        where = f"{method} {template} {status}"
        errs = self.header_errors(resp, headers, where)
        content = resp.get("content")
        if method == "HEAD" or status == 304:
            if body:
                errs.append(f"{where}: a body of {len(body)} bytes")
            return errs
        if not content:
            if body:
                errs.append(f"{where}: a body the spec does not document")
            return errs
        ctype = headers.get("content-type", "").split(";")[0].strip()
        if ctype not in content:
            return errs + [f"{where}: content type {ctype!r} not documented"]
        schema = content[ctype].get("schema")
        if "json" in ctype:
            try:
                value = json.loads(body)
            except ValueError:
                return errs + [f"{where}: body is not JSON"]
            return errs + (self.errors(schema, value, where) if schema else [])
        if ctype.startswith("image/") and not body:
            errs.append(f"{where}: empty image body")
        return errs


_API = []


def api():
    """The one OpenAPI checker of a test run (the spec is read once)."""
    if not _API:
        _API.append(OpenAPI())
    return _API[0]


def call(srv, method, path, body=None, headers=None, expect=None, what=""):
    """A request whose answer must fit api/openapi.yaml, and have status expect (when
    given). Returns (status, headers, body)."""
    st, h, data = srv.request(method, path, body, headers)
    for err in api().check(method, path, st, h, data):
        check(False, f"openapi: {what or path}: {err}")
    if expect is not None:
        check(st == expect, f"{what or path}: status {st} != {expect}: {data[:300]!r}")
    return st, h, data


def process(srv, body, headers, expect=200, what=""):
    """POST /process through call(): (status, headers, the JSON body or None)."""
    st, h, data = call(srv, "POST", "/process", body, headers, expect, what)
    try:
        return st, h, json.loads(data)
    except ValueError:
        return st, h, None
