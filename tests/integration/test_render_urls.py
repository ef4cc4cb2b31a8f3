"""/render in public (issue 11): the requests a hostile client would send, against the real
binary over real HTTP, on either backend:

  test_render_urls.py                 the embedded default (folders + SQLite), label integration
  test_render_urls.py --backend aws   S3 + DynamoDB stand-ins, label aws

- canonical: non-canonical numbers, unknown and repeated parameters are 400 naming them and
  render nothing; requests with the same bytes share one variant;
- bound: every combination a client could send, against the number of variants
  docs/keys.md's formula allows, counted in the render bucket for that version;
- versions: the photo item's version in the URL (and the TypeScript of docs/photo-item.md
  run with node on a processed item), a replaced original, old and forged versions (302,
  never the old bytes);
- signatures: missing, forged, rotated keys, the signed 302, `enlarger sign`, the
  TypeScript of docs/signing.md run with node;
- a caching proxy in front that honours Cache-Control: a replaced photo is gone within the
  unversioned max-age, and an old version's URL leads to the new one.

Oracles: the backend read independently (files, or botocore), MD5 for the version tag,
vipsheader for sizes, Python's hmac for signatures, api/openapi.yaml for the responses."""

import argparse
import concurrent.futures
import hashlib
import hmac
import http.client
import http.server
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "aws"))
from enl_harness import (SOURCE, AwsBackend, OpenAPI, Server, standins_or_skip,  # noqa: E402
                         check, done, make_image, need_tools, vipsheader)

ap = argparse.ArgumentParser()
ap.add_argument("--backend", choices=["local", "aws"], default="local")
ARGS = ap.parse_args()
need_tools("vips", "vipsheader")

KEY = "test-key-0123456789"
api = OpenAPI()
tmp = tempfile.mkdtemp(prefix="enl-it-urls-")
SIGN_KEY = "the signing key, 32 bytes or more"
OLD_KEY = "the key before it, also 32 bytes"


def image(name, w, h, ext=".jpg"):
    return make_image(os.path.join(tmp, name + ext), w, h)


def path_of(key):
    """The path a browser sends for key: every byte outside the unreserved set escaped."""
    return "/render/" + urllib.parse.quote(key, safe="/")


def get(srv, path, headers=None, expect=None, what="", method="GET"):
    st, h, body = srv.request(method, path, headers=headers)
    for err in api.check(method, urllib.parse.urlsplit(path).path, st, h, body):
        check(False, f"openapi: {what or path}: {err}")
    if expect is not None:
        check(st == expect, f"{what or path}: status {st} != {expect}: {body[:300]!r}")
    return st, h, body


def detail(body):
    try:
        return json.loads(body).get("detail", "")
    except ValueError:
        return ""


def version_prefix(key, version):
    return hashlib.sha256(key.encode()).hexdigest() + "/" + version + "/"


def sign(key, path, query):
    """The oracle: base64url(HMAC-SHA256) without padding over path?sorted pairs."""
    pairs = sorted((p for p in query.split("&") if p and not p.startswith("sig=")),
                   key=lambda p: p.split("=", 1)[0].encode())
    msg = (path + "?" + "&".join(pairs)).encode()
    import base64
    return base64.urlsafe_b64encode(hmac.new(key.encode(), msg, hashlib.sha256).digest()) \
        .decode().rstrip("=")


def process(srv, key):
    st, _, body = srv.request("POST", "/process", {"bucket": "originals", "key": key},
                              {"x-api-key": KEY}, timeout=120)
    check(st == 200, f"process {key!r}: {st} {body[:200]!r}")
    return srv.row(key)


# =====================================================================================

def canonical(srv):
    """Non-canonical requests are 400 naming what is wrong, and render nothing; requests
    that make the same bytes share one variant."""
    key = "urls/My Trip/café 100% +1.jpg"
    etag = srv.put_original(key, image("canon", 300, 200))
    p = path_of(key)
    check("%20" in p and "%25" in p and "%2B" in p and "%C3%A9" in p, f"escaped path {p}")
    runs0 = srv.metric("enlarger_render_pipeline_runs")
    for query, says in [
            ("w=0200", "parameter w"), ("w=00200", "parameter w"), ("w=%2B200", "parameter w"),
            ("w=+200", "parameter w"), ("w=200.0", "parameter w"), ("w=-200", "parameter w"),
            ("w=%32%30%30", "parameter w"), ("w=201", "100, 200, 400"),
            ("w=200&w=200", "more than once: w"), ("w=200&fmt=png&fmt=png", "more than once: fmt"),
            ("w=200&x=1&utm_source=a", "unknown parameters: x, utm_source"),
            ("w=200&W=200", "unknown parameters: W"), ("%77=200", "unknown parameters: %77"),
            ("w=200&h=200", "parameter h needs fit"), ("w=200&h=0200&fit=cover", "parameter h"),
            ("w=200&q=80", "parameter q must be one of: 50, 90"), ("w=200&q=090", "parameter q"),
            ("w=200&fmt=jpg", "parameter fmt"), ("w=200&fmt=WEBP", "parameter fmt"),
            ("w=200&fit=COVER", "parameter fit"), ("w=200&v=ABC", "parameter v"),
            ("w=200&sig=x", "parameter sig"), ("w=200&&fmt=png", "empty parameter"),
            ("w=200&", "empty parameter"), ("", "parameter w is required")]:
        st, h, body = get(srv, p + "?" + query, expect=400, what=f"?{query}")
        check(says in detail(body), f"?{query}: {detail(body)!r} does not say {says!r}")
    check(srv.metric("enlarger_render_pipeline_runs") == runs0, "refused requests rendered")
    check(srv.backend.list_keys("renders", version_prefix(key, etag)) == [],
          "refused requests stored nothing")

    # The same bytes, one variant: w past the source's width (300) is 300; h that cannot
    # bind is dropped; cover without h is inside; q is nothing to PNG; pair order.
    st, h, body = get(srv, p + "?w=400&fmt=png", expect=200, what="w past the source")
    first = h.get("etag")
    check(vipsheader(body)[:2] == (300, 200), f"never upscaled: {vipsheader(body)}")
    for query in ["fmt=png&w=400", "w=400&h=400&fit=inside&fmt=png",
                  "w=400&fit=cover&fmt=png", "w=400&fmt=png&q=50", "q=90&fmt=png&w=400",
                  "w=400&h=200&fit=inside&fmt=png"]:
        st, h, _ = get(srv, p + "?" + query, expect=200, what=f"same bytes ?{query}")
        check(h.get("etag") == first and h.get("x-cache") == "hit",
              f"?{query}: {h.get('etag')} {h.get('x-cache')}, want {first} hit")
    # The key as sent with a literal '+' (a path keeps '+') is the same original.
    st, h, _ = get(srv, p.replace("%2B", "+") + "?w=400&fmt=png", expect=200, what="'+' as sent")
    check(h.get("etag") == first, "a literal '+' names the same key")
    check(len(srv.backend.list_keys("renders", version_prefix(key, etag))) == 1,
          "one variant for all of them")


def oracle_key(w, h, fit, fmt, q, W, H):
    """docs/keys.md's canonical form, written independently of src/service."""
    default_q = {"webp": 80, "jpeg": 82, "avif": 50, "png": 0}
    quality = 0 if fmt == "png" else (q or default_q[fmt])
    if fit == "cover" and h:
        return (min(w, W), min(h, H), "cover", fmt, quality)
    return (min(w, W), h if h and h < H else 0, "inside", fmt, quality)


def bound(backend):
    """Every combination a client could send: no more variants than the formula."""
    widths, qualities = [16, 32, 48], [40, 90]
    srv = Server(backend, ENLARGER_RENDER_WIDTHS=",".join(map(str, widths)),
                 ENLARGER_RENDER_QUALITIES=",".join(map(str, qualities)),
                 ENLARGER_QUEUE_DEPTH=256, ENLARGER_LOG_LEVEL="warn")
    accepts = {"avif": "image/avif,image/webp,*/*", "webp": "image/webp,*/*", "jpeg": "*/*"}
    try:
        for key, (W, H) in [("bound/tall photo.jpg", (70, 100)),
                            ("bound/small+one.jpg", (40, 30))]:
            version = srv.put_original(key, image(key.replace("/", "-"), W, H))
            p = path_of(key)
            asks = []
            for w, h, fit, fmt, q, v in itertools.product(
                    widths, [None] + widths, [None, "inside", "cover"],
                    [None, "auto", "webp", "jpeg", "png", "avif"], [None] + qualities,
                    [None, version]):
                pairs = [("w", w), ("h", h), ("fit", fit), ("fmt", fmt), ("q", q), ("v", v)]
                query = "&".join(f"{n}={x}" for n, x in pairs if x is not None)
                for acc in (accepts if fmt in (None, "auto") else [None]):
                    asks.append((query, {"Accept": accepts[acc]} if acc else {},
                                 (w, h, fit, acc or fmt, q)))
            # And what a client may try besides: each refused before any work.
            bad = ["w=17", "w=016", "w=48&h=48", "w=48&q=41", "w=48&fmt=gif", "w=48&z=1",
                   "w=48&w=32", "w=48&fit=fill", f"w=48&v={version}&v={version}"]

            def one(a):
                st, _, _ = srv.request("GET", p + "?" + a[0], headers=a[1], timeout=120)
                return st
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                sts = list(pool.map(one, asks))
                bad_sts = list(pool.map(one, [(b, {}) for b in bad]))
            want = set()
            for (query, _, (w, h, fit, fmt, q)), st in zip(asks, sts):
                ok = not (h and not fit)
                check(st == (200 if ok else 400), f"{key} ?{query}: {st}")
                if ok:
                    want.add(oracle_key(w, h, fit, fmt, q, W, H))
            check(bad_sts == [400] * len(bad), f"{key}: refused {bad_sts}")
            stored = srv.backend.list_keys("renders", version_prefix(key, version))
            L, Q = len(widths), len(qualities)
            formula = L * (2 * L + 1) * (3 * (Q + 1) + 1)
            print(f"{key}: {len(asks)} requests, {len(stored)} variants stored, "
                  f"formula {formula}, oracle {len(want)}", flush=True)
            check(len(stored) == len(want), f"{key}: {len(stored)} stored, oracle {len(want)}")
            check(len(stored) <= formula, f"{key}: {len(stored)} over the formula {formula}")
            if (W, H) == (70, 100):  # larger than every width: the formula's maximum
                check(len(stored) == formula, f"{key}: {len(stored)} != formula {formula}")
        check(srv.stop() == 0, "bound server exits 0")
    finally:
        srv.cleanup()


def versions(srv):
    """The item's version in the URL; old and forged versions; a replaced original."""
    key = "urls/versions/été 1+1.jpg"
    first = image("ver1", 640, 480)
    srv.put_original(key, first)
    item = process(srv, key) or {}
    v1 = item.get("version")
    check(v1 == hashlib.md5(first).hexdigest(), f"item version is the version tag: {v1}")
    p = path_of(key)
    # docs/photo-item.md: https://<cdn>/render/<key>?v=<version>&w=800&fmt=auto
    st, h, body = get(srv, f"{p}?v={v1}&w=200&fmt=auto", expect=200, what="current version")
    check(h.get("cache-control") == "public, max-age=31536000, immutable", "v: a year")
    check(h.get("vary") == "Accept", "auto: Vary")
    st, h, _ = get(srv, f"{p}?w=200&fmt=auto", expect=200, what="no v")
    check(h.get("cache-control") == "public, max-age=7", f"no v: {h.get('cache-control')}")
    check(re.fullmatch(r'"[0-9a-f]{32}"', h.get("etag", "")), "no v: an ETag")
    for forged in ["0" * 32, "abc", "a-b-c-1"]:
        st, h, body = get(srv, f"{p}?w=200&v={forged}&fmt=webp", expect=302,
                          what=f"forged v={forged}")
        check(h.get("location") == f"{p}?fmt=webp&v={v1}&w=200",
              f"302 to the current version: {h.get('location')}")
        check(h.get("cache-control") == "public, max-age=60" and body == b"",
              "302: a minute, no body")
    st, h, _ = get(srv, f"{p}?w=200&v={v1}&fmt=webp", method="HEAD", expect=200, what="HEAD v")

    # Replaced (say, to blur a face): the old version's URL never serves the old bytes.
    new = image("ver2", 300, 600)
    v2 = hashlib.md5(new).hexdigest()
    srv.put_original(key, new)
    st, h, body = get(srv, f"{p}?v={v1}&w=200&fmt=webp", expect=302, what="old version")
    check(h.get("location") == f"{p}?fmt=webp&v={v2}&w=200",
          f"old v: 302 to the new version before it is processed: {h.get('location')}")
    st, h, body = get(srv, h.get("location", "/"), expect=200, what="followed")
    check(vipsheader(body)[:2] == (200, 400), f"the new photo: {vipsheader(body)}")
    item = process(srv, key) or {}
    check(item.get("version") == v2, f"processed again: version {item.get('version')}")
    st, h, _ = get(srv, f"{p}?v={v1}&w=200&fmt=webp&h=200&fit=cover", expect=302,
                   what="old version, more parameters")
    check(h.get("location") == f"{p}?fit=cover&fmt=webp&h=200&v={v2}&w=200",
          f"302 keeps every other parameter: {h.get('location')}")
    check(srv.request("GET", f"{p}?v={v2}&w=200&fmt=webp")[0] == 200, "new version: 200")


def signed(backend):
    """Signatures: missing, forged, rotated; the signed 302; enlarger sign; the TypeScript
    of docs/signing.md; ENLARGER_RENDER_WIDTHS=any once signed."""
    key = "urls/signed/Été 50% +x.jpg"
    p = path_of(key)
    srv = Server(backend, ENLARGER_RENDER_SIGNING_KEY=SIGN_KEY,
                 ENLARGER_RENDER_SIGNING_KEY_PREVIOUS=OLD_KEY, ENLARGER_RENDER_WIDTHS="any",
                 ENLARGER_PROCESS_API_KEY=KEY, ENLARGER_LOG_LEVEL="info")
    try:
        original = image("signed", 500, 400)
        v = srv.put_original(key, original)
        runs0 = srv.metric("enlarger_render_pipeline_runs")
        q = f"w=123&v={v}&fmt=webp"
        good = sign(SIGN_KEY, p, q)
        for path, what in [(f"{p}?{q}", "no sig"),
                           (f"{p}?{q}&sig={sign('another key of at least 32 bytes', p, q)}",
                            "another key"),
                           (f"{p}?w=124&v={v}&fmt=webp&sig={good}", "other w"),
                           (f"{p}?{q}&h=100&fit=cover&sig={good}", "added parameters"),
                           (f"{p.replace('%20', '+')}?{q}&sig={good}", "the path re-encoded"),
                           (f"{p}?{q}&sig={good[:-1]}A" if good[-1] != "A" else
                            f"{p}?{q}&sig={good[:-1]}B", "one character off")]:
            st, h, body = get(srv, path, expect=403, what=f"forged: {what}")
            check(json.loads(body or b"{}").get("type", "").endswith("/forbidden"),
                  f"{what}: a forbidden problem")
        check(srv.metric("enlarger_render_pipeline_runs") == runs0, "403s rendered nothing")
        # Right, in any order; under the previous key too (rotation); any width.
        for path in [f"{p}?{q}&sig={good}", f"{p}?sig={good}&fmt=webp&v={v}&w=123",
                     f"{p}?{q}&sig={sign(OLD_KEY, p, q)}"]:
            st, h, body = get(srv, path, expect=200, what="signed")
        check(vipsheader(body)[:2] == (123, 98), f"w=123 with any widths: {vipsheader(body)}")
        # The 302 of an older version is signed with the current key.
        old = "0123456789abcdef0123456789abcdef"
        qo = f"w=123&v={old}&fmt=webp"
        st, h, _ = get(srv, f"{p}?{qo}&sig={sign(OLD_KEY, p, qo)}", expect=302, what="old v")
        loc = h.get("location", "")
        lq = f"fmt=webp&v={v}&w=123"
        check(loc == f"{p}?{lq}&sig={sign(SIGN_KEY, p, lq)}", f"signed 302: {loc}")
        get(srv, loc, expect=200, what="the signed 302 followed")
        # enlarger sign: the same sig; its URL is answered.
        out = subprocess.run([os.environ["ENL_BINARY"], "sign", f"https://cdn.example{p}?{q}"],
                             capture_output=True, text=True,
                             env=dict(os.environ, ENLARGER_RENDER_SIGNING_KEY=SIGN_KEY,
                                      ENLARGER_RENDER_WIDTHS="any"))
        check(out.returncode == 0 and out.stdout.strip() ==
              f"https://cdn.example{p}?{q}&sig={good}", f"enlarger sign: {out.stdout!r}")
        typescript_snippet(srv)
        logs = srv.read_log()
        check(SIGN_KEY not in logs and OLD_KEY not in logs and good not in logs,
              "keys and signatures never logged")
        check(srv.stop() == 0, "signed server exits 0")
    finally:
        srv.cleanup()

    # After the rotation ends (no previous key), the old key's URLs are refused.
    srv = Server(backend, ENLARGER_RENDER_SIGNING_KEY=SIGN_KEY)
    try:
        srv.put_original(key, original)
        q = f"w=600&v={v}&fmt=webp"
        get(srv, f"{p}?{q}&sig={sign(OLD_KEY, p, q)}", expect=403, what="rotated out")
        get(srv, f"{p}?{q}&sig={sign(SIGN_KEY, p, q)}", expect=200, what="current key")
        get(srv, f"{p}?w=123&v={v}&fmt=webp&sig={sign(SIGN_KEY, p, f'w=123&v={v}&fmt=webp')}",
            expect=400, what="the width list again without any")
        check(srv.stop() == 0, "second signed server exits 0")
    finally:
        srv.cleanup()


def ts_program(doc, tail):
    """The one ts block of docs/<doc> followed by tail, type-checked with TypeScript and
    compiled for node: the path of its .js, or None (skipped, or a failed check)."""
    node = shutil.which("node")
    ts = os.path.join(SOURCE, "tests", "node_modules", "typescript")
    if not node or not os.path.isdir(ts):
        print(f"skip: the TypeScript of docs/{doc} (needs node and "
              "tests/node_modules/typescript: scripts/install-deps.sh)", flush=True)
        return None
    with open(os.path.join(SOURCE, "docs", doc)) as f:
        blocks = re.findall(r"```ts\n(.*?)```", f.read(), re.S)
    if not check(len(blocks) == 1, f"docs/{doc} has one ts block"):
        return None
    d = tempfile.mkdtemp(prefix="enl-ts-", dir=tmp)
    with open(os.path.join(d, "main.ts"), "w") as f:
        f.write(blocks[0] + tail)
    compile_js = f"""
const ts = require({json.dumps(ts)});
const opts = {{ strict: true, noEmitOnError: true, module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022, types: ["node"], outDir: {json.dumps(d)},
  typeRoots: [{json.dumps(os.path.join(SOURCE, "tests", "node_modules", "@types"))}] }};
const prog = ts.createProgram([{json.dumps(os.path.join(d, "main.ts"))}], opts);
const r = prog.emit();
const diags = ts.getPreEmitDiagnostics(prog).concat(r.diagnostics);
for (const x of diags) console.error(ts.flattenDiagnosticMessageText(x.messageText, "\\n"));
process.exit(diags.length ? 1 : 0);
"""
    r = subprocess.run([node, "-e", compile_js], capture_output=True, text=True)
    if not check(r.returncode == 0, f"the TypeScript of docs/{doc} type-checks: {r.stderr}"):
        return None
    return os.path.join(d, "main.js")


def run_js(js, *args):
    r = subprocess.run([shutil.which("node"), js, *args], capture_output=True, text=True)
    out = r.stdout.strip()
    check(r.returncode == 0 and out.startswith("https://cdn.example/render/"),
          f"the snippet ran: {r.stderr or out}")
    return out


def photo_item_snippet(srv):
    """docs/photo-item.md's TypeScript, run with node on a processed photo item: its URLs
    name the current version (a year of caching), for keys with spaces, '+', '%', accents."""
    js = ts_program("photo-item.md", "\nconst [cdn, objectKey, version, w] = "
                    "process.argv.slice(2);\n"
                    "console.log(renderUrl(cdn, { objectKey, version }, Number(w)));\n")
    if not js:
        return
    for key in ["urls/item/My Trip/café 100% +1.jpg", "urls/item/plain.jpg"]:
        srv.put_original(key, image("item", 320, 240))
        item = process(srv, key) or {}
        url = run_js(js, "https://cdn.example", item.get("objectKey", ""),
                     item.get("version", ""), "200")
        st, h, body = get(srv, url[len("https://cdn.example"):], expect=200,
                          headers={"Accept": "image/webp,*/*"},
                          what=f"docs/photo-item.md's URL for {key!r}")
        check(h.get("cache-control") == "public, max-age=31536000, immutable",
              f"photo-item.md: v is the current version: {url}")
        check(vipsheader(body)[:2] == (200, 150), f"photo-item.md: w: {vipsheader(body)}")


def typescript_snippet(srv):
    """docs/signing.md's TypeScript, type-checked and run with node: its URLs are answered."""
    js = ts_program("signing.md", "\nconst [cdn, key, version, width, secret] = "
                    "process.argv.slice(2);\n"
                    "console.log(renderUrl(cdn, key, version, Number(width), secret));\n")
    if not js:
        return
    for key in ["urls/ts/My Trip/café 100% +1.jpg", "urls/ts/plain.jpg", "urls/ts/ñandú (2).jpg"]:
        v = srv.put_original(key, image("ts", 320, 240))
        url = run_js(js, "https://cdn.example", key, v, "200", SIGN_KEY)
        path = url[len("https://cdn.example"):]
        st, h, body = get(srv, path, expect=200, what=f"the snippet's URL for {key!r}")
        check(h.get("cache-control") == "public, max-age=31536000, immutable", "snippet: v")
        parts = urllib.parse.urlsplit(path)
        check(parts.query.endswith("&sig=" + sign(SIGN_KEY, parts.path, parts.query)),
              f"snippet's sig = the oracle's: {path}")
        unsigned = "https://cdn.example" + path.rsplit("&sig=", 1)[0]
        out = subprocess.run([os.environ["ENL_BINARY"], "sign", unsigned], capture_output=True,
                             text=True, env=dict(os.environ, ENLARGER_RENDER_SIGNING_KEY=SIGN_KEY,
                                                 ENLARGER_RENDER_WIDTHS="any"))
        check(out.stdout.strip() == url, f"enlarger sign agrees: {out.stdout!r} {url!r}")


# ---- a caching proxy that honours Cache-Control ------------------------------------------

class CachingProxy:
    """A shared cache in front of the origin, as CloudFront or a browser: keyed by the URL
    (and Accept when the answer says Vary: Accept); fresh for max-age, for ever while
    immutable within it; once stale, revalidated with If-None-Match (304 refreshes it);
    302s cached like any answer. Counts what it asked the origin."""

    def __init__(self, origin_port):
        self.origin = origin_port
        self.cache = {}
        self.lock = threading.Lock()
        self.origin_calls = []  # (path, status)
        proxy = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                st, hdrs, body = proxy.fetch(self.path, self.headers.get("Accept"))
                self.send_response(st)
                for k, v in hdrs.items():
                    if k in ("content-type", "etag", "cache-control", "location", "vary"):
                        self.send_header(k, v)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @staticmethod
    def max_age(cc):
        m = re.search(r"max-age=(\d+)", cc or "")
        return int(m.group(1)) if m else 0

    def ask_origin(self, path, accept, etag=None):
        c = http.client.HTTPConnection("127.0.0.1", self.origin, timeout=60)
        h = {"Accept": accept} if accept else {}
        if etag:
            h["If-None-Match"] = etag
        c.request("GET", path, headers=h)
        r = c.getresponse()
        body = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        c.close()
        with self.lock:
            self.origin_calls.append((path, r.status))
        return r.status, hdrs, body

    def fetch(self, path, accept):
        key = (path, accept)
        with self.lock:
            e = self.cache.get(key) or self.cache.get((path, None))
        now = time.time()
        if e and now < e["expires"]:
            return e["status"], e["headers"], e["body"]
        st, hdrs, body = self.ask_origin(path, accept, e["headers"].get("etag") if e else None)
        if st == 304 and e:
            e["expires"] = time.time() + self.max_age(hdrs.get("cache-control"))
            return e["status"], e["headers"], e["body"]
        if st in (200, 302):
            vary = hdrs.get("vary", "").lower() == "accept"
            with self.lock:
                self.cache[(path, accept if vary else None)] = {
                    "status": st, "headers": hdrs, "body": body,
                    "expires": time.time() + self.max_age(hdrs.get("cache-control"))}
        return st, hdrs, body

    def get(self, path):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        c.close()
        return r.status, hdrs, body

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def through_a_cache(backend):
    """A replaced photo through a cache that honours Cache-Control: gone from the
    unversioned URL within its max-age; the old version's URL leads to the new one."""
    max_age = 2
    srv = Server(backend, ENLARGER_RENDER_UNVERSIONED_MAX_AGE=max_age,
                 ENLARGER_RENDER_WIDTHS="200")
    proxy = CachingProxy(srv.port)
    try:
        key = "urls/cached/face.jpg"
        v1 = srv.put_original(key, image("face1", 640, 480))
        p = path_of(key)
        plain, old = f"{p}?w=200&fmt=webp", f"{p}?v={v1}&w=200&fmt=webp"
        st, h, a = proxy.get(plain)
        check(st == 200 and vipsheader(a)[:2] == (200, 150), "through the cache: the photo")
        st, h, a_v = proxy.get(old)
        check(st == 200 and a_v == a, "its versioned URL: the same bytes")
        # Within max-age: from the cache. After it: revalidated, 304, still the photo.
        calls = len(proxy.origin_calls)
        check(proxy.get(plain)[2] == a and len(proxy.origin_calls) == calls, "fresh: cached")
        time.sleep(max_age + 0.5)
        st, _, body = proxy.get(plain)
        check(body == a and proxy.origin_calls[-1] == (plain, 304), "stale: revalidated, 304")

        # Replaced (a face blurred): the unversioned URL shows it within max-age.
        new = image("face2", 480, 640)
        v2 = srv.put_original(key, new)
        t_replaced = time.time()
        seen_new = None
        while time.time() - t_replaced < max_age + 3:
            st, _, body = proxy.get(plain)
            if st == 200 and body != a:
                seen_new = time.time() - t_replaced
                break
            time.sleep(0.2)
        check(seen_new is not None and seen_new <= max_age + 1,
              f"the replaced photo is gone from the unversioned URL within {max_age}s "
              f"(+1s slack): {seen_new}")
        check(vipsheader(body)[:2] == (200, 267), f"and the new one is shown: {vipsheader(body)}")
        # The old version's URL: a cache that has it keeps it (immutable: the gallery's pages
        # now carry v2's URL); a cache that does not is sent to the new version, never given
        # the old bytes.
        fresh = CachingProxy(srv.port)
        try:
            st, h, _ = fresh.get(old)
            check(st == 302 and h.get("location") == f"{p}?fmt=webp&v={v2}&w=200",
                  f"old version through a cache: 302 to v2 ({st} {h.get('location')})")
            st, h, body = fresh.get(h.get("location", "/"))
            check(st == 200 and vipsheader(body)[:2] == (200, 267) and
                  h.get("cache-control") == "public, max-age=31536000, immutable",
                  "followed: the new photo, for a year")
            calls = len(fresh.origin_calls)
            st, _, _ = fresh.get(old)
            check(st == 302 and len(fresh.origin_calls) == calls, "the 302 is cached too")
        finally:
            fresh.close()
        check(srv.stop() == 0, "cache server exits 0")
    finally:
        proxy.close()
        srv.cleanup()


def main_suite(backend):
    srv = Server(backend, ENLARGER_PROCESS_API_KEY=KEY, ENLARGER_RENDER_WIDTHS="100,200,400",
                 ENLARGER_RENDER_QUALITIES="50,90", ENLARGER_RENDER_UNVERSIONED_MAX_AGE=7)
    try:
        canonical(srv)
        versions(srv)
        photo_item_snippet(srv)
        check(srv.stop() == 0, "server exits 0")
    finally:
        srv.cleanup()


def main():
    if ARGS.backend == "local":
        main_suite(None)
        bound(None)
        signed(None)
        through_a_cache(None)
    else:
        with standins_or_skip() as st:
            backend = AwsBackend(st)
            main_suite(backend)
            bound(backend)
            signed(backend)
            through_a_cache(backend)
    shutil.rmtree(tmp, ignore_errors=True)
    done()


main()
