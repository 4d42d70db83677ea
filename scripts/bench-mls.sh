#!/bin/sh
# make bench-mls: runs bench_mls once per group size (a fresh process each)
# and prints the table, then the state and message sizes.
#   sh scripts/bench-mls.sh BENCH_BINARY "10 100 1000 10000"
set -e
bin=$1
sizes=${2:-10 100 1000 10000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "n bulk_add_ms join_ms update_create_ms update_process_ms add_create_ms add_process_ms remove_create_ms remove_process_ms protect_us unprotect_us"
for n in $sizes; do
    "$bin" "$n" > "$tmp/$n"
    sed -n 's/^ROW //p' "$tmp/$n"
done
echo
echo "sizes in bytes (creator's serialized group state after the scenario; commit and Welcome messages):"
echo "n state bulk_add_commit bulk_add_welcome update_commit add_commit remove_commit"
for n in $sizes; do
    sed -n 's/^SIZES //p' "$tmp/$n"
done
