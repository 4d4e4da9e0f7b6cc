#!/usr/bin/env bash
# Makes N test photos (default 24) in photos/ beside this script with ImageMagick:
# deterministic plasma skies over gradients, 1600x1200 JPEGs. Idempotent.
set -euo pipefail
cd "$(dirname "$0")"
count=${1:-24}
convert=/usr/bin/convert
[ -x "$convert" ] || convert=$(command -v convert) || { echo "install ImageMagick: apt-get install imagemagick" >&2; exit 1; }
mkdir -p photos
for i in $(seq 1 "$count"); do
  name=$(printf 'photos/IMG_%04d.jpg' "$i")
  [ -s "$name" ] && continue
  hue=$(( (i * 37) % 360 ))
  "$convert" -size 1600x1200 -seed "$i" "plasma:hsb($hue,70%,80%)-hsb($(( (hue + 120) % 360 )),60%,40%)" \
    -fill "hsb($(( (hue + 200) % 360 )),80%,90%)" -draw "circle $(( 200 + i * 40 )),600 $(( 320 + i * 40 )),600" \
    -quality 90 "$name"
done
echo "$count photos in $(pwd)/photos"
