#!/usr/bin/env bash
# Makes the test photos for examples/photos: N deterministic 1600x1200 JPEGs (default 24; the
# first argument overrides) in photos/ beside this script. Running it again with the same N
# changes nothing: existing photos are kept, and IMG_NNNN.jpg beyond N are removed so that the
# job's glob `photos/*.jpg` matches exactly N files.
set -euo pipefail

count=${1:-24}
if ! [[ $count =~ ^[0-9]+$ ]] || (( count < 1 || count > 999 )); then
  echo "usage: $0 [COUNT]   (1-999 photos, default 24)" >&2
  exit 2
fi

# ImageMagick's own convert; some machines put a different `convert` first on PATH.
if [[ -x /usr/bin/convert ]]; then
  convert=/usr/bin/convert
elif command -v convert > /dev/null; then
  convert=$(command -v convert)
else
  echo "$0: ImageMagick's convert is not installed (apt-get install imagemagick)" >&2
  exit 1
fi

here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$here/photos"
part="$here/.photo.part"
trap 'rm -f "$part"' EXIT

colours=(firebrick goldenrod seagreen steelblue orchid coral teal khaki slateblue tomato olivedrab plum)
pick() { echo "${colours[$(( $1 % ${#colours[@]} ))]}"; }

# A small linear congruential generator: the same shapes on every machine, whatever bash's RANDOM does.
# It sets R (a command substitution would run it in a subshell and lose the state).
state=0
next() { state=$(( (state * 1103515245 + 12345) % 2147483648 )); R=$(( state / 65536 % $1 )); }

made=0
for (( i = 1; i <= count; i++ )); do
  name=$(printf 'IMG_%04d.jpg' "$i")
  out="$here/photos/$name"
  [[ -s $out ]] && continue

  state=$(( i * 7919 ))
  a=$(pick "$i"); b=$(pick $(( i * 5 + 3 ))); c=$(pick $(( i * 7 + 1 )))
  case $(( i % 3 )) in
    0) background=(-seed "$i" -size 800x600 "plasma:$a-$b" -resize 1600x1200 -blur 0x1.5) ;;
    1) background=(-size 1600x1200 "gradient:$a-$b" -seed "$i" -attenuate 0.4 +noise Gaussian) ;;
    2) background=(-size 1600x1200 "radial-gradient:$b-$a" -seed "$i" -attenuate 0.3 +noise Gaussian) ;;
  esac

  shapes=()
  for (( s = 0; s < 6; s++ )); do
    next 1600; x=$R; next 1200; y=$R; next 220; r=$(( 40 + R ))
    shapes+=(-fill "$(pick $(( i + s )))" -stroke "$c" -strokewidth 6)
    if (( s % 2 == 0 )); then
      shapes+=(-draw "circle $x,$y $(( x + r )),$y")
    else
      shapes+=(-draw "roundrectangle $x,$y $(( x + r * 2 )),$(( y + r )) 24,24")
    fi
  done

  # Written outside photos/ and renamed, so an interrupted run leaves no half-written photo
  # for the job's glob to find.
  "$convert" "${background[@]}" "${shapes[@]}" -quality 90 -strip "jpg:$part"
  mv "$part" "$out"
  made=$(( made + 1 ))
done

removed=0
for f in "$here"/photos/IMG_*.jpg; do
  [[ -e $f ]] || continue
  n=${f##*/IMG_}; n=${n%.jpg}
  if [[ $n =~ ^[0-9]+$ ]] && (( 10#$n > count )); then
    rm -f -- "$f"
    removed=$(( removed + 1 ))
  fi
done

echo "$count photos in $here/photos ($made made, $removed removed)"
