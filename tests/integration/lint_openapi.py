"""Lints api/openapi.yaml with the pinned @redocly/cli (tests/package.json) and the
rules in api/redocly.yaml (recommended-strict: warnings fail too). Also lints a copy with
a broken $ref and an undocumented security scheme, which must fail, so a linter that
passes everything is caught. Skips (77) only when node is missing."""

import os
import shutil
import subprocess
import sys
import tempfile

SOURCE = os.environ.get("ENL_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
SPEC = os.path.join(SOURCE, "api", "openapi.yaml")
CONFIG = os.path.join(SOURCE, "api", "redocly.yaml")
CLI = os.path.join(SOURCE, "tests", "node_modules", "@redocly", "cli", "bin", "cli.js")

node = shutil.which("node")
if not node:
    print("skip: node is not installed")
    sys.exit(77)
if not os.path.exists(CLI):
    print(f"FAIL: {CLI} is missing: run `npm ci` in tests/ (scripts/install-deps.sh does)")
    sys.exit(1)

env = dict(os.environ, REDOCLY_TELEMETRY="off", REDOCLY_SUPPRESS_UPDATE_NOTICE="true",
           NO_COLOR="1")


def lint(path):
    r = subprocess.run([node, CLI, "lint", "--config", CONFIG, "--format", "stylish", path],
                       env=env, capture_output=True, text=True, timeout=300)
    return r.returncode, r.stdout + r.stderr


rc, out = lint(SPEC)
print(out)
if rc != 0:
    print(f"FAIL: redocly lint exited {rc}")
    sys.exit(1)

with open(SPEC) as f:
    text = f.read()
broken = text.replace("$ref: '#/components/schemas/ProcessResult'",
                      "$ref: '#/components/schemas/NoSuchSchema'", 1)
broken = broken.replace("- originSecret: []", "- noSuchScheme: []", 1)
if broken == text:
    print("FAIL: could not make the broken copy (the spec changed shape?)")
    sys.exit(1)
d = tempfile.mkdtemp(prefix="enl-lint-")
try:
    path = os.path.join(d, "openapi.yaml")
    with open(path, "w") as f:
        f.write(broken)
    rc2, out2 = lint(path)
finally:
    shutil.rmtree(d, ignore_errors=True)
if rc2 == 0 or "no-unresolved-refs" not in out2 or "noSuchScheme" not in out2:
    print(out2)
    print("FAIL: the broken copy was not refused with both problems named")
    sys.exit(1)
print("ok: the spec lints clean, and a broken copy is refused")
