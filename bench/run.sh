#!/usr/bin/env bash
# enlarger side by side with its peers (issues 6 and 16), in one run: enlarger (Release build),
# a minimal sharp server (bench/sharp-server.js), nginx (cache hits) and vipsthumbnail (the
# libvips floor), on the same images and output settings; render misses on unprocessed
# originals and on processed photos (from their mezzanine). Prints a table of medians
# (min, max), ratios and peak RSS, then the mezzanine quality table
# (bench/mezzanine_quality.py), and writes them to docs/benchmarks.md. Under 15 minutes.
#
#   bench/run.sh                 the full run (run it on a quiet machine)
#   BENCH_QUICK=1 bench/run.sh   short durations: checks the harness, numbers not for quoting
#
# Other images: BENCH_CORPUS=DIR (JPEGs and PNGs; name the three the cases use with
# BENCH_IMG_24=a large JPEG, BENCH_IMG_12=the c8 JPEG, BENCH_IMG_PNG=an RGBA PNG, file names in
# DIR). Another sharp server with the same URLs: BENCH_SHARP_SERVER=FILE.js.
# Also: BENCH_OUT=FILE (default docs/benchmarks.md), BENCH_PHOTOS=0 (leave out the real
# photos of ../shared/testdata/photos when present), ENLARGER_* passed to `enlarger serve`
# (e.g. ENLARGER_JOBS), BENCH_WRK_SECONDS, BENCH_WRK_PROCESSED_SECONDS, BENCH_N_* (see
# bench/bench.py), BENCH_MEZZ_QUALITY=0 (leave out the mezzanine quality table; alone it is
# `python3 bench/mezzanine_quality.py`, see its --help).
# Installs what it needs itself (as root, or with sudo): the bench-only Debian packages below,
# enlarger's build dependencies (scripts/install-deps.sh build) and `npm ci` in bench/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cmdline="bench/run.sh"
if [ -n "${BENCH_QUICK:-}" ] && [ "${BENCH_QUICK}" != 0 ]; then cmdline="BENCH_QUICK=1 bench/run.sh"; fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi

# Bench-only Debian packages (the test suite does not need them).
bench_pkgs=(
  wrk nginx libvips-tools libimage-exiftool-perl bc fonts-dejavu-core python3 procps
)

echo "== dependencies"
scripts/install-deps.sh build
missing=()
for p in "${bench_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# sharp 0.35 needs Node.js >= 20.9 (Debian 12's own nodejs is 18): the install script
# brings a pinned newer one where the machine's is too old.
scripts/install-deps.sh node
(cd bench && npm ci --no-audit --no-fund --loglevel=error)

echo "== build (Release)"
cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build/bench -j"$(nproc)" --target enlarger
# bench/ssim.c: SSIM against a reference resize, for the quality table.
cc -O2 -std=c11 -Wall -Wextra -o build/bench/bench-ssim bench/ssim.c \
  $(pkg-config --cflags --libs vips) -lm

echo "== images"
corpus="$root/../shared/testdata/corpus"
need=(landscape-24mp.jpg phone-12mp-orient6.jpg small-1200x800.jpg cutout-rgba-3000x2000.png
  export-16bit-1600x1067.png)
have_all() { for f in "${need[@]}"; do [ -s "$1/$f" ] || return 1; done; }
if [ -n "${BENCH_CORPUS:-}" ]; then
  corpus=$(cd "$BENCH_CORPUS" && pwd)
  for f in "${BENCH_IMG_24:-landscape-24mp.jpg}" "${BENCH_IMG_12:-phone-12mp-orient6.jpg}" \
    "${BENCH_IMG_PNG:-cutout-rgba-3000x2000.png}"; do
    [ -s "$corpus/$f" ] || { echo "bench: $corpus/$f is missing (see BENCH_IMG_* above)" >&2; exit 2; }
  done
  echo "corpus: $corpus (BENCH_CORPUS)"
elif have_all "$corpus"; then
  echo "corpus: $corpus"
else
  corpus="$root/build/bench-corpus"
  if ! have_all "$corpus"; then
    echo "corpus: ../shared/testdata is not here; generating it into build/bench-corpus (~1.5 min)"
    rm -rf "$corpus.tmp"
    bench/gen-corpus.sh "$corpus.tmp" >/dev/null
    rm -rf "$corpus"
    mv "$corpus.tmp" "$corpus"
  fi
  echo "corpus: $corpus (generated)"
fi
photos=
if [ "${BENCH_PHOTOS:-1}" != 0 ] && [ -d "$root/../shared/testdata/photos" ]; then
  photos="$root/../shared/testdata/photos"
  echo "real photos: $photos (JPEGs; HEICs too in the mezzanine quality table)"
fi

echo "== benchmark"
py=python3
if [ -x /usr/bin/python3 ]; then py=/usr/bin/python3; fi
exec "$py" bench/bench.py \
  --enlarger build/bench/enlarger \
  --corpus "$corpus" \
  --photos "$photos" \
  --work build/bench-run \
  --ssim build/bench/bench-ssim \
  --out "${BENCH_OUT:-docs/benchmarks.md}" \
  --command "$cmdline"
