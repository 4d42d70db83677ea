#!/bin/sh
# The fault suite (tests/faults/faults.py): the real server under SIGKILLs,
# a full disk, vanished peers, its database moved or deleted, and a stalled
# link; each case prints its figures on one line (README "Tests").
# FAULTS_SHORT=1 runs the short form.  Not part of make check.
set -eu
cd "$(dirname "$0")/../.."
BIN=./server
[ -n "${BUILD:-}" ] && [ -x "$BUILD/bin/server" ] && BIN="$BUILD/bin/server"
[ -n "${BUILD:-}" ] && [ -x "$BUILD/bin/mlsforge" ] && export MLSFORGE="$BUILD/bin/mlsforge"
exec python3 tests/faults/faults.py "$BIN" "${1:-}"
