#!/usr/bin/env bash
# Builds scene.blend for examples/render beside this script from scene.py, with Blender in
# background mode and factory settings (nothing of the user's Blender preferences gets in).
# Idempotent: it rebuilds only when scene.blend is missing or older than scene.py.
set -euo pipefail

if ! command -v blender > /dev/null; then
  echo "$0: blender is not installed (apt-get install blender)" >&2
  exit 1
fi

here=$(cd "$(dirname "$0")" && pwd)
if [[ -s $here/scene.blend && ! $here/scene.py -nt $here/scene.blend ]]; then
  echo "scene.blend: up to date in $here"
  exit 0
fi

# Saved under a temporary name and renamed: an interrupted build leaves no half-written scene,
# and Blender writes no scene.blend1 backup (it does when it saves over an existing file).
tmp="$here/scene.blend.part"
rm -f "$tmp"
trap 'rm -f "$tmp"' EXIT
log=$(blender -b -noaudio --factory-startup --python-exit-code 1 --python "$here/scene.py" -- "$tmp" 2>&1) || {
  printf '%s\n' "$log" >&2
  echo "$0: blender could not build the scene" >&2
  exit 1
}
mv "$tmp" "$here/scene.blend"
echo "scene.blend: built in $here"
