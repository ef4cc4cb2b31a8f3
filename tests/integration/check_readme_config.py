"""README.md's table of ENLARGER_* settings must be exactly what `enlarger config` prints
from the loader's own table (src/util/config.c), so the documentation cannot drift from
the code. Regenerate it with the command printed on failure."""

import os
import subprocess
import sys

SOURCE = os.environ.get("ENL_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BINARY = os.environ.get("ENL_BINARY", "")
BEGIN = "<!-- enlarger config: begin -->"
END = "<!-- enlarger config: end -->"

if not BINARY or not os.path.exists(BINARY):
    print("skip: ENL_BINARY is not built")
    sys.exit(77)
want = subprocess.run([BINARY, "config"], check=True, capture_output=True,
                      text=True, env={"PATH": os.environ.get("PATH", "")}).stdout
with open(os.path.join(SOURCE, "README.md")) as f:
    readme = f.read()
if BEGIN not in readme or END not in readme:
    print(f"FAIL: README.md has no {BEGIN} ... {END} section")
    sys.exit(1)
have = readme.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n") + "\n"
# Every row names a variable the binary knows, and every variable has a row.
names = [line.split("`")[1] for line in want.splitlines() if line.startswith("| `")]
if len(names) < 20 or any(not n.startswith("ENLARGER_") for n in names):
    print(f"FAIL: `enlarger config` printed an odd table:\n{want}")
    sys.exit(1)
if have != want:
    import difflib
    sys.stdout.writelines(difflib.unified_diff(have.splitlines(True), want.splitlines(True),
                                               "README.md", "enlarger config"))
    print("FAIL: README.md's settings table differs from `enlarger config`; regenerate it:\n"
          "  python3 tests/integration/check_readme_config.py --write  (with ENL_BINARY set)")
    if "--write" in sys.argv:
        with open(os.path.join(SOURCE, "README.md"), "w") as f:
            f.write(readme.replace(BEGIN + readme.split(BEGIN, 1)[1].split(END, 1)[0],
                                   BEGIN + "\n" + want, 1))
        print("written")
        sys.exit(0)
    sys.exit(1)
print(f"ok: README.md lists all {len(names)} settings as `enlarger config` does")
