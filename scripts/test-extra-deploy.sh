#!/usr/bin/env bash
# Deployment checks (issue 5). scripts/test.sh runs this after ctest; it also runs alone.
#   1. docker/Dockerfile: dockerfile-utils lint (npm) and the image policy
#      (docker/check_dockerfile.py), each also shown to reject a bad Dockerfile;
#   2. infrastructure/: npm ci from the lock, tsc, node:test template assertions with
#      cdk-nag AwsSolutions; then docs/deploy.md's commands that need no AWS account (npm ci,
#      tsc, cdk synth with and without imageUri), exactly as written, in a fresh copy of the
#      tracked files, with no AWS credentials (scripts/doc-commands.py extracts them and
#      checks that no sh block of the page escapes CI);
#   3. the final stage's package list: debootstrap a bookworm minbase (what
#      debian:bookworm-slim is), replay the Dockerfile's final stage in it (chroot), install
#      the binary the way the build stage does (cmake --install), then as the image's user:
#      `enlarger --version`, every shared library resolved, one `enlarger process` checked
#      with vipsheader/exiftool on the host, and `enlarger serve` answering the image's own
#      HEALTHCHECK command and exiting on SIGTERM.
# Needs root (debootstrap, chroot) and Debian's mirror (apt's own). The base root and the
# downloaded .debs are cached in build/deploy-check/ between runs.
#   ENLARGER_DEPLOY_BUILD_DIR   build tree holding the enlarger to test (default build/ci,
#                               else one is built in build/deploy-check/build)
#   ENLARGER_DEPLOY_SKIP_ROOT=1 skip part 3 (no root, no mirror)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
work=$root/build/deploy-check
mkdir -p "$work"
py=${ENL_PYTHON:-/usr/bin/python3}

pass=0
fail=0
ok() { echo "ok - $*"; pass=$((pass + 1)); }
not_ok() { echo "not ok - $*"; fail=$((fail + 1)); }

# Tools: debootstrap and the test oracles come from install-deps.sh (dev); node from the machine.
if ! command -v debootstrap >/dev/null || ! command -v vipsheader >/dev/null || ! command -v exiftool >/dev/null; then
  scripts/install-deps.sh dev
fi

echo "== deploy: npm ci (infrastructure/)"
(cd infrastructure && npm ci --no-audit --no-fund --loglevel=error)
npx_() { (cd "$root/infrastructure" && npx --no-install "$@"); }

echo "== deploy: Dockerfile lint"
bad=$work/bad.Dockerfile
printf 'FROM debian\nRUN apt-get install -y curl\nCMD enlarger serve\nCMD enlarger\nMAINTAINER nobody\n' >"$bad"
lint_out=$(npx_ dockerfile-utils lint "$root/docker/Dockerfile" 2>&1) || true
if [ -z "$lint_out" ]; then ok "dockerfile-utils lint docker/Dockerfile: no findings"; else
  echo "$lint_out"; not_ok "dockerfile-utils lint docker/Dockerfile"; fi
if [ -n "$(npx_ dockerfile-utils lint "$bad" 2>&1 || true)" ]; then ok "dockerfile-utils flags a bad Dockerfile"; else
  not_ok "dockerfile-utils flags a bad Dockerfile"; fi
if "$py" docker/check_dockerfile.py policy docker/Dockerfile; then ok "image policy (docker/check_dockerfile.py)"; else
  not_ok "image policy"; fi
for broken in 's/^USER 10001:10001$/USER root/' 's/^ENTRYPOINT \[.*\]$/ENTRYPOINT \/usr\/local\/bin\/enlarger/' \
  '/^HEALTHCHECK/,/healthz/d' 's/install-deps.sh runtime/install-deps.sh build/' 's/@sha256:[0-9a-f]*$//'; do
  sed "$broken" docker/Dockerfile >"$work/mutant.Dockerfile"
  if cmp -s docker/Dockerfile "$work/mutant.Dockerfile"; then not_ok "mutation '$broken' changed nothing"; continue; fi
  if "$py" docker/check_dockerfile.py policy "$work/mutant.Dockerfile" >/dev/null; then
    not_ok "image policy misses mutation: $broken"
  else ok "image policy rejects mutation: $broken"; fi
done

echo "== deploy: CDK (tsc, node:test + cdk-nag, cdk synth)"
if npx_ tsc -p .; then ok "tsc"; else not_ok "tsc"; fi
if (cd infrastructure && node --test dist/test/ 2>"$work/node-test.stderr" | tee "$work/node-test.tap" | grep -E '^(not )?ok|^# (pass|fail)'); then
  ok "node:test template assertions and cdk-nag"
else
  tail -50 "$work/node-test.stderr"; not_ok "node:test (full TAP in $work/node-test.tap)"; fi

echo "== deploy: docs/deploy.md's commands without an AWS account, as written"
doc=docs/deploy.md
if "$py" scripts/doc-commands.py check "$doc"; then ok "every sh block of $doc is CI-run or needs an AWS account; each cdk deploy's context is synthesised"; else
  not_ok "$doc: sh blocks and CI"; fi
# The check can fail: a block without its marker, a deploy whose context no synth has.
sed '0,/<!-- ci: needs an AWS account -->/{/<!-- ci: needs an AWS account -->/d}' "$doc" >"$work/mutant-deploy.md"
if "$py" scripts/doc-commands.py check "$work/mutant-deploy.md" >/dev/null; then not_ok "doc-commands misses an unmarked block"; else
  ok "doc-commands rejects an unmarked sh block"; fi
sed 's/^npx cdk deploy --all -c stage=dev /npx cdk deploy --all -c stage=staging /' "$doc" >"$work/mutant-deploy.md"
if cmp -s "$doc" "$work/mutant-deploy.md" || "$py" scripts/doc-commands.py check "$work/mutant-deploy.md" >/dev/null; then
  not_ok "doc-commands misses a deploy that no synth covers"; else ok "doc-commands rejects a deploy whose context is not synthesised"; fi
# A fresh copy of the tracked files (as a clone has them: no node_modules, dist or cdk.out),
# no AWS credentials or configuration, no instance metadata: the commands as a newcomer runs them.
clone=$work/docs-clone
rm -rf "$clone" && mkdir -p "$clone"
git ls-files -z | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
  tar --null -T - -cf - | tar -xf - -C "$clone"
"$py" scripts/doc-commands.py script "$doc" >"$work/doc-commands.sh"
t0=$(date +%s)
if (cd "$clone" && env -i PATH="$PATH" HOME="$HOME" LANG=C.UTF-8 AWS_EC2_METADATA_DISABLED=true \
  AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent \
  bash -euo pipefail -x "$work/doc-commands.sh") >"$work/doc-commands.log" 2>&1 &&
  [ "$(grep -c '^Successfully synthesized' "$work/doc-commands.log")" = "$(grep -c '^npx cdk synth' "$work/doc-commands.sh")" ] &&
  [ -s "$clone/infrastructure/cdk.out/enlarger-prod-processing.template.json" ]; then
  ok "$doc's commands ran as written in a fresh copy ($(grep -c '^npx cdk synth' "$work/doc-commands.sh") cdk synth with cdk-nag, $(($(date +%s) - t0)) s)"
else
  tail -40 "$work/doc-commands.log"; not_ok "$doc's commands (full log: $work/doc-commands.log)"; fi

if [ -n "${ENLARGER_DEPLOY_SKIP_ROOT:-}" ]; then
  echo "== deploy: final-stage replay skipped (ENLARGER_DEPLOY_SKIP_ROOT)"
  echo "deploy: $pass passed, $fail failed"
  [ "$fail" -eq 0 ]
  exit
fi

echo "== deploy: the final stage's packages in a bookworm minbase root"
# The binary, installed as the build stage installs it.
bdir=${ENLARGER_DEPLOY_BUILD_DIR:-$root/build/ci}
if [ ! -x "$bdir/enlarger" ]; then
  bdir=$work/build
  cmake -S . -B "$bdir" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
  cmake --build "$bdir" -j"$(nproc)" --target enlarger >/dev/null
fi
rm -rf "$work/stage"
DESTDIR=$work/stage cmake --install "$bdir" --prefix /usr/local --strip >/dev/null

mirror=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}
base=$work/bookworm-minbase
debs=$work/debs
mkdir -p "$debs"
if [ ! -f "$base/.complete" ]; then
  rm -rf "$base"
  t0=$(date +%s)
  debootstrap --variant=minbase --cache-dir="$debs" bookworm "$base" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log"; exit 1; }
  # Sources as in the debian:bookworm-slim image: updates and security too.
  rm -f "$base/etc/apt/sources.list"
  cat >"$base/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  touch "$base/.complete"
  echo "debootstrap: $(($(date +%s) - t0)) s"
fi

# A fresh copy each run: packages left from an older list must not hide a missing one.
rootfs=$work/rootfs
rm -rf "$rootfs"
cp -a "$base" "$rootfs"
cp "$debs"/*.deb "$rootfs/var/cache/apt/archives/" 2>/dev/null || true
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
t0=$(date +%s)
if config=$("$py" docker/check_dockerfile.py replay docker/Dockerfile "$rootfs" "$root" "$work/stage" 2>"$work/replay.log"); then
  ok "final stage replayed ($(($(date +%s) - t0)) s, $(chroot "$rootfs" dpkg-query -W | wc -l) packages)"
else
  tail -30 "$work/replay.log"; not_ok "final stage replay"
  echo "deploy: $pass passed, $fail failed"
  exit 1
fi
cp -n "$rootfs"/var/cache/apt/archives/*.deb "$debs/" 2>/dev/null || true

cfg() { "$py" -c "import json,sys; c=json.loads(sys.argv[1]); $1" "$config"; }
user=$(cfg 'print(c["user"])')
workdir=$(cfg 'print(c["workdir"])')
mapfile -t image_env < <(cfg 'print("\n".join(k + "=" + v for k, v in c["env"].items()))')
# Run a command in the image's root as its user, in its workdir, with only its ENV.
in_image() {
  chroot --userspec="$user" "$rootfs" /usr/bin/env -i "${image_env[@]}" \
    /bin/sh -c 'cd "$0" && exec "$@"' "$workdir" "$@"
}
# The same, replacing the calling (background) shell: its pid becomes enlarger's, since
# chroot, env and sh each exec the next.
in_image_exec() {
  exec chroot --userspec="$user" "$rootfs" /usr/bin/env -i "${image_env[@]}" \
    /bin/sh -c 'cd "$0" && exec "$@"' "$workdir" "$@"
}

if v=$(in_image /usr/local/bin/enlarger --version) && [[ "$v" == enlarger\ * ]]; then ok "enlarger --version in the image root: $v"; else
  not_ok "enlarger --version in the image root"; fi
missing=$(chroot "$rootfs" ldd /usr/local/bin/enlarger | grep 'not found' || true)
if [ -z "$missing" ]; then ok "every shared library of enlarger resolves in the image root"; else
  echo "$missing"; not_ok "libraries missing from the runtime list"; fi

# One photo: 640x480 gradient, EXIF orientation 6 and GPS. Oracles on the host.
"$py" - "$rootfs/tmp/in.ppm" <<'EOF'
import sys
w, h = 640, 480
with open(sys.argv[1], "wb") as f:
    f.write(b"P6 %d %d 255\n" % (w, h))
    f.write(bytes(v for y in range(h) for x in range(w) for v in ((x * 255) // w, (y * 255) // h, 128)))
EOF
vips copy "$rootfs/tmp/in.ppm" "$rootfs/tmp/photo.jpg[Q=90]"
exiftool -q -overwrite_original -Orientation#=6 -GPSLatitude=48.85 -GPSLatitudeRef=N \
  -GPSLongitude=2.35 -GPSLongitudeRef=E "$rootfs/tmp/photo.jpg"
rm -f "$rootfs/tmp/in.ppm"
mkdir -p "$rootfs/tmp/out" && chmod 1777 "$rootfs/tmp/out"
if in_image /usr/local/bin/enlarger process /tmp/photo.jpg --out /tmp/out >"$work/process.json" 2>"$work/process.log"; then
  errs=$("$py" - "$work/process.json" "$rootfs/tmp/out" <<'EOF'
import json, os, subprocess, sys
res = json.load(open(sys.argv[1]))
out = sys.argv[2]
errs = []
files = sorted(os.listdir(out))
if len(files) != 4:
    errs.append(f"want 4 files, got {files}")
if (res.get("width"), res.get("height")) != (480, 640):
    errs.append(f"result size {res.get('width')}x{res.get('height')}, want 480x640 (orientation 6)")
for f in files:
    p = os.path.join(out, f)
    w = int(subprocess.check_output(["vipsheader", "-f", "width", p]))
    h = int(subprocess.check_output(["vipsheader", "-f", "height", p]))
    loader = subprocess.check_output(["vipsheader", "-f", "vips-loader", p]).decode().strip()
    want_loader = "webpload" if f.endswith(".webp") else "jpegload"
    if loader != want_loader:
        errs.append(f"{f}: {loader}, want {want_loader}")
    if "thumb" in f and (w, h) != (200, 200):
        errs.append(f"{f}: {w}x{h}, want 200x200")
    if "optimized" in f and (w, h) != (480, 640):
        errs.append(f"{f}: {w}x{h}, want 480x640 upright")
    gps = subprocess.check_output(["exiftool", "-q", "-s3", "-GPSLatitude", p]).decode().strip()
    if gps:
        errs.append(f"{f}: GPS left in a public file ({gps})")
print("\n".join(errs))
EOF
)
  if [ -z "$errs" ]; then ok "enlarger process in the image root: 4 derivatives, upright, no GPS (vipsheader, exiftool)"; else
    echo "$errs"; not_ok "enlarger process output"; fi
else
  cat "$work/process.log"; not_ok "enlarger process in the image root"
fi

# serve: the image's HEALTHCHECK command, run inside the root, then SIGTERM.
port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mapfile -t hc < <(cfg 'print("\n".join(c["healthcheck"]))')
hc=("${hc[@]//:8080/:$port}")
image_env+=("ENLARGER_LISTEN=127.0.0.1:$port")
in_image_exec /usr/local/bin/enlarger serve >"$work/serve.log" 2>&1 &
serve_pid=$!
trap 'kill -KILL "$serve_pid" 2>/dev/null || true' EXIT
healthy=
for _ in $(seq 1 50); do
  if in_image "${hc[@]}" >/dev/null 2>&1; then healthy=1; break; fi
  kill -0 "$serve_pid" 2>/dev/null || break
  sleep 0.2
done
if [ -n "$healthy" ]; then ok "enlarger serve in the image root passes the image's HEALTHCHECK command"; else
  tail -20 "$work/serve.log"; not_ok "HEALTHCHECK against enlarger serve"; fi
kill -TERM "$serve_pid" 2>/dev/null || true
rc=
for _ in $(seq 1 100); do
  if ! kill -0 "$serve_pid" 2>/dev/null; then
    wait "$serve_pid" && rc=0 || rc=$?
    break
  fi
  sleep 0.1
done
if [ "$rc" = 0 ]; then ok "enlarger serve exits 0 on SIGTERM"; else
  kill -KILL "$serve_pid" 2>/dev/null || true
  tail -20 "$work/serve.log"; not_ok "enlarger serve on SIGTERM (rc=${rc:-still running after 10 s})"; fi

echo "deploy: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
