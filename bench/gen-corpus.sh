#!/usr/bin/env bash
# The synthetic benchmark corpus, so that bench/run.sh runs on a fresh clone. A copy of
# ../shared/testdata/corpus/gen-corpus.sh (which made the reference corpus) with only the
# output folder changed: vips (8.14 CLI) + exiftool + bc + the DejaVu font.
# Content is procedural "landscape photo" material: Perlin fBm sky/clouds/ridges/ground,
# Worley texture, a text sign, lens blur, vignette and sensor grain, so that the files
# compress like photographs rather than flat colour. Deterministic (fixed seeds) apart
# from gaussnoise, which vips does not seed.
#
#   bench/gen-corpus.sh OUTDIR   # writes OUTDIR/*.jpg|png (about 21 MB), ~1.5 min on 2 cores
set -euo pipefail
OUT=${1:?usage: gen-corpus.sh OUTDIR}
mkdir -p "$OUT"
T=$(mktemp -d /tmp/bench-gen.XXXXXX)
trap 'rm -rf "$T"' EXIT
export VIPS_WARNING=0

# fbm OUT W H BASECELL OCTAVES SEED  -> float image, roughly [-1,1]
fbm() {
  local out=$1 w=$2 h=$3 cell=$4 oct=$5 seed=$6 amp=1 i
  vips perlin "$T/fb_acc.v" "$w" "$h" --cell-size "$cell" --seed "$seed"
  for ((i = 1; i < oct; i++)); do
    cell=$((cell / 2)); [ "$cell" -lt 2 ] && cell=2
    amp=$(echo "$amp / 2" | bc -l)
    vips perlin "$T/fb_p.v" "$w" "$h" --cell-size "$cell" --seed $((seed + i * 7919))
    vips linear -- "$T/fb_p.v" "$T/fb_q.v" "$amp" 0
    vips add "$T/fb_acc.v" "$T/fb_q.v" "$T/fb_n.v"
    mv "$T/fb_n.v" "$T/fb_acc.v"
  done
  mv "$T/fb_acc.v" "$out"
}

# ridge OUT W H CELL SEED BASE AMP -> 1-band uchar mask, 255 below a horizon line y = H*(BASE + AMP*noise(x))
ridge() {
  local out=$1 w=$2 h=$3 cell=$4 seed=$5 base=$6 amp=$7 hh
  hh=$(( (cell / 2) + 2 ))
  fbm "$T/r_noise.v" "$w" "$hh" "$cell" 6 "$seed"
  vips extract_area "$T/r_noise.v" "$T/r_row.v" 0 $((cell / 2 - 3)) "$w" 1
  vips replicate "$T/r_row.v" "$T/r_rows.v" 1 "$h"
  # horizon (in pixels) for every column
  vips linear -- "$T/r_rows.v" "$T/r_hz.v" "$(echo "$amp * $h" | bc -l)" "$(echo "$base * $h" | bc -l)"
  # signed distance below the horizon, scaled for a ~2 px soft edge
  vips subtract "$T/y.v" "$T/r_hz.v" "$T/r_d.v"
  vips linear -- "$T/r_d.v" "$T/r_m.v" 128 128
  vips cast "$T/r_m.v" "$out" uchar
}

# scene OUT W H SEED "SIGN TEXT" GRAIN
# renders an sRGB uchar landscape into OUT (.v)
scene() {
  local out=$1 w=$2 h=$3 seed=$4 sign=$5 grain=$6
  vips xyz "$T/xy.v" "$w" "$h"
  vips extract_band "$T/xy.v" "$T/xi.v" 0
  vips extract_band "$T/xy.v" "$T/yi.v" 1
  vips cast "$T/yi.v" "$T/y.v" float
  vips cast "$T/xi.v" "$T/x.v" float
  vips linear -- "$T/y.v" "$T/g.v" "$(echo "1 / $h" | bc -l)" 0          # 0 top .. 1 bottom

  # sky: vertical gradient deep blue -> pale near horizon, plus fBm clouds
  vips linear -- "$T/g.v" "$T/sky.v" "260 220 105" "38 84 160"  # t=g*... overshoot clamps later
  fbm "$T/cl.v" "$w" "$h" $((w / 3)) 7 $((seed + 11))
  vips linear -- "$T/cl.v" "$T/cla.v" 420 -20
  vips cast "$T/cla.v" "$T/clm.v" uchar
  vips linear -- "$T/cl.v" "$T/clc.v" "70 70 60" "222 224 232"
  vips ifthenelse "$T/clm.v" "$T/clc.v" "$T/sky.v" "$T/sky2.v" --blend

  # far ridge (hazy blue mountains)
  ridge "$T/m1.v" "$w" "$h" $((w / 2)) $((seed + 23)) 0.40 0.16
  fbm "$T/mt.v" "$w" "$h" $((w / 10)) 6 $((seed + 31))
  vips linear -- "$T/mt.v" "$T/mtc.v" "28 30 34" "92 108 138"
  vips ifthenelse "$T/m1.v" "$T/mtc.v" "$T/sky2.v" "$T/l1.v" --blend

  # near ground: grass/soil colours from fBm, modulated by Worley "bushes/rocks"
  ridge "$T/m2.v" "$w" "$h" $((w / 3)) $((seed + 41)) 0.55 0.07
  fbm "$T/gt.v" "$w" "$h" $((w / 6)) 8 $((seed + 53))
  vips linear -- "$T/gt.v" "$T/gtc.v" "70 45 40" "88 104 48"
  vips worley "$T/wo.v" "$w" "$h" --cell-size $((w / 90 + 4)) --seed $((seed + 61))
  vips stats "$T/wo.v" "$T/wost.v"
  local wmax; wmax=$(vips getpoint "$T/wost.v" 1 0 | tr -d ' ')
  vips linear -- "$T/wo.v" "$T/wof.v" "$(echo "0.45 / $wmax" | bc -l)" 0.62
  vips multiply "$T/gtc.v" "$T/wof.v" "$T/gtd.v"
  # ground gets brighter towards the camera (bottom)
  vips linear -- "$T/g.v" "$T/gl.v" 0.5 0.78
  vips multiply "$T/gtd.v" "$T/gl.v" "$T/gte.v"
  vips ifthenelse "$T/m2.v" "$T/gte.v" "$T/l1.v" "$T/l2.v" --blend

  # fine land detail (grass, scree): small-cell fBm, only below the far horizon
  fbm "$T/dt.v" "$w" "$h" 32 4 $((seed + 71))
  vips linear -- "$T/m1.v" "$T/m1f.v" "$(echo "45 / 255" | bc -l)" 0
  vips multiply "$T/dt.v" "$T/m1f.v" "$T/dtm.v"
  vips add "$T/l2.v" "$T/dtm.v" "$T/l2d.v"

  # lens softness
  vips gaussblur "$T/l2d.v" "$T/l3.v" 0.5

  # vignette: 1 - 0.3 * r^2
  vips linear -- "$T/x.v" "$T/dx.v" "$(echo "2 / $w" | bc -l)" -1
  vips linear -- "$T/y.v" "$T/dy.v" "$(echo "2 / $h" | bc -l)" -1
  vips multiply "$T/dx.v" "$T/dx.v" "$T/dx2.v"
  vips multiply "$T/dy.v" "$T/dy.v" "$T/dy2.v"
  vips add "$T/dx2.v" "$T/dy2.v" "$T/r2.v"
  vips linear -- "$T/r2.v" "$T/vig.v" -0.15 1
  vips multiply "$T/l3.v" "$T/vig.v" "$T/l4.v"

  # sensor grain: luminance + a little chroma noise
  if [ "$grain" != 0 ]; then
    vips gaussnoise "$T/n0.v" "$w" "$h" --sigma "$grain" --mean 0
    vips gaussnoise "$T/n1.v" "$w" "$h" --sigma "$(echo "$grain / 2" | bc -l)" --mean 0
    vips gaussnoise "$T/n2.v" "$w" "$h" --sigma "$(echo "$grain / 2" | bc -l)" --mean 0
    vips gaussnoise "$T/n3.v" "$w" "$h" --sigma "$(echo "$grain / 2" | bc -l)" --mean 0
    vips bandjoin "$T/n1.v $T/n2.v $T/n3.v" "$T/nc.v"
    vips add "$T/l4.v" "$T/n0.v" "$T/l5.v"
    vips add "$T/l5.v" "$T/nc.v" "$T/l6.v"
  else
    cp "$T/l4.v" "$T/l6.v"
  fi
  vips cast "$T/l6.v" "$T/l7.v" uchar
  vips copy "$T/l7.v" "$T/l8.v" --interpretation srgb

  # a wooden sign with text (sharp edges, like real scenes have)
  if [ -n "$sign" ]; then
    local dpi=$((w / 5)) tw th bx by
    vips text "$T/tx.v" "$sign" --font "DejaVu Sans Bold 12" --dpi "$dpi" --rgba
    tw=$(vipsheader -f width "$T/tx.v"); th=$(vipsheader -f height "$T/tx.v")
    vips black "$T/bd0.v" $((tw + dpi / 2)) $((th + dpi / 2)) --bands 3
    vips linear -- "$T/bd0.v" "$T/bd1.v" 1 "92 60 34"
    vips bandjoin_const "$T/bd1.v" "$T/bd2.v" 255
    vips cast "$T/bd2.v" "$T/bd3.v" uchar
    vips copy "$T/bd3.v" "$T/bd.v" --interpretation srgb
    # text is black on transparent: make it cream coloured
    vips extract_band "$T/tx.v" "$T/txa.v" 3
    vips black "$T/tc0.v" "$tw" "$th" --bands 3
    vips linear -- "$T/tc0.v" "$T/tc1.v" 1 "245 238 215"
    vips cast "$T/tc1.v" "$T/tc2.v" uchar
    vips bandjoin "$T/tc2.v $T/txa.v" "$T/tc3.v"
    vips copy "$T/tc3.v" "$T/tc.v" --interpretation srgb
    bx=$((w * 50 / 100)); by=$((h * 66 / 100))
    vips composite2 "$T/l8.v" "$T/bd.v" "$T/s1.v" over --x "$bx" --y "$by"
    vips composite2 "$T/s1.v" "$T/tc.v" "$T/s2.v" over --x $((bx + dpi / 4)) --y $((by + dpi / 4))
    vips extract_band "$T/s2.v" "$T/s3.v" 0 --n 3
    vips cast "$T/s3.v" "$out" uchar
  else
    mv "$T/l8.v" "$out"
  fi
  rm -f "$T"/[a-z]*.v 2>/dev/null || true
}

# camera-style EXIF: exif FILE MAKE MODEL DATE ISO FNUM EXPOSURE FOCAL LAT LATREF LON LONREF [extra args]
exif() {
  local f=$1 make=$2 model=$3 date=$4 iso=$5 fnum=$6 exp=$7 focal=$8 lat=$9 latref=${10} lon=${11} lonref=${12}
  shift 12
  exiftool -q -overwrite_original \
    -EXIF:Make="$make" -EXIF:Model="$model" \
    -EXIF:DateTimeOriginal="$date" -EXIF:CreateDate="$date" -EXIF:ModifyDate="$date" \
    -EXIF:ISO="$iso" -EXIF:FNumber="$fnum" -EXIF:ExposureTime="$exp" -EXIF:FocalLength="$focal" \
    -EXIF:GPSLatitude="$lat" -EXIF:GPSLatitudeRef="$latref" \
    -EXIF:GPSLongitude="$lon" -EXIF:GPSLongitudeRef="$lonref" \
    -EXIF:Software="bench gen-corpus.sh (synthetic)" "$@" "$f"
}

echo "[1/5] 24MP landscape JPEG 6000x4000"
scene "$T/O_a.v" 6000 4000 100 "TRAILHEAD  2.4 km" 3
vips jpegsave "$T/O_a.v" "$OUT/landscape-24mp.jpg" --Q 92 --subsample-mode on
exif "$OUT/landscape-24mp.jpg" "NIKON CORPORATION" "NIKON D750" "2023:07:14 18:42:09" 200 8 1/250 35 46.5581 N 7.9845 E \
  -EXIF:LensModel="24.0-120.0 mm f/4.0" -EXIF:Orientation#=1

echo "[2/5] 12MP phone JPEG 4032x3024 stored, EXIF Orientation=6 (displays as 3024x4032 portrait)"
scene "$T/O_b.v" 3024 4032 200 "TOP ^" 4
vips rot "$T/O_b.v" "$T/b2.v" d270
vips jpegsave "$T/b2.v" "$OUT/phone-12mp-orient6.jpg" --Q 90 --subsample-mode on
exif "$OUT/phone-12mp-orient6.jpg" "Apple" "iPhone 13 Pro" "2024:05:02 09:15:31" 50 1.5 1/1200 5.7 37.8087 N 122.4098 W \
  -EXIF:Orientation#=6 -EXIF:LensModel="iPhone 13 Pro back triple camera 5.7mm f/1.5"

echo "[3/5] small web JPEG 1200x800"
scene "$T/O_c.v" 2400 1600 300 "" 3
vips resize "$T/O_c.v" "$T/c2.v" 0.5
vips jpegsave "$T/c2.v" "$OUT/small-1200x800.jpg" --Q 85 --subsample-mode on --optimize-coding
exif "$OUT/small-1200x800.jpg" "Canon" "Canon EOS R6" "2022:10:01 16:03:44" 400 5.6 1/500 85 51.5007 N 0.1246 W \
  -EXIF:Orientation#=1

echo "[4/5] RGBA PNG 3000x2000 (product-style cut-out, transparent background)"
scene "$T/O_d.v" 3000 2000 400 "" 0
vips xyz "$T/xy.v" 3000 2000
vips extract_band "$T/xy.v" "$T/xi.v" 0; vips extract_band "$T/xy.v" "$T/yi.v" 1
vips linear -- "$T/xi.v" "$T/dx.v" "$(echo "1 / 1100" | bc -l)" "$(echo "-1500 / 1100" | bc -l)"
vips linear -- "$T/yi.v" "$T/dy.v" "$(echo "1 / 850" | bc -l)" "$(echo "-1000 / 850" | bc -l)"
vips multiply "$T/dx.v" "$T/dx.v" "$T/dx2.v"; vips multiply "$T/dy.v" "$T/dy.v" "$T/dy2.v"
vips add "$T/dx2.v" "$T/dy2.v" "$T/r2.v"
fbm "$T/edge.v" 3000 2000 700 6 407
vips linear -- "$T/edge.v" "$T/edge2.v" 0.35 0
vips add "$T/r2.v" "$T/edge2.v" "$T/r3.v"
vips linear -- "$T/r3.v" "$T/al.v" -1500 1500      # alpha 255 inside (r<~0.83), 2-3 px soft edge
vips cast "$T/al.v" "$T/alu.v" uchar
vips black "$T/z.v" 3000 2000 --bands 3
vips ifthenelse "$T/alu.v" "$T/O_d.v" "$T/z.v" "$T/d2.v"  # zero RGB where fully transparent, like real cut-outs
vips bandjoin "$T/d2.v $T/alu.v" "$T/d3.v"
vips copy "$T/d3.v" "$T/d4.v" --interpretation srgb
vips pngsave "$T/d4.v" "$OUT/cutout-rgba-3000x2000.png" --compression 6
rm -f "$T"/*.v

echo "[5/5] 16-bit RGB PNG 1600x1067 (raw-converter export style)"
scene "$T/O_e.v" 1600 1067 500 "" 0
# re-render in 16 bit: scale to 0..65535 and add fine grain that occupies the low byte
vips cast "$T/O_e.v" "$T/e1.v" float
vips gaussnoise "$T/en.v" 1600 1067 --sigma 0.6 --mean 0
vips add "$T/e1.v" "$T/en.v" "$T/e2.v"
vips linear -- "$T/e2.v" "$T/e3.v" 257 0
vips cast "$T/e3.v" "$T/e4.v" ushort
vips copy "$T/e4.v" "$T/e5.v" --interpretation rgb16
vips pngsave "$T/e5.v" "$OUT/export-16bit-1600x1067.png" --compression 6
exiftool -q -overwrite_original -PNG:Software="bench gen-corpus.sh (synthetic)" -XMP-exif:DateTimeOriginal="2021:03:20 11:00:00" \
  -XMP-tiff:Make="FUJIFILM" -XMP-tiff:Model="X-T4" "$OUT/export-16bit-1600x1067.png"

ls -l "$OUT"
du -sh "$OUT"
