#!/usr/bin/env bash
# Starts cascade-server from a build folder (default build/release), passing on any flags.
set -euo pipefail
build_dir=${1:-build/release}
shift || true
exec "$build_dir/server/cascade-server" "$@"
