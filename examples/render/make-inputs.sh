#!/usr/bin/env bash
# Builds scene.blend beside this script with Blender (apt-get install blender). Idempotent.
set -euo pipefail
cd "$(dirname "$0")"
command -v blender >/dev/null || { echo "install Blender: apt-get install blender" >&2; exit 1; }
[ -s scene.blend ] || blender -b --factory-startup --python scene.py -- "$(pwd)/scene.blend" >/dev/null
echo "scene in $(pwd)/scene.blend"
