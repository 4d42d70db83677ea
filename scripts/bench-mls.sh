#!/bin/sh
# make bench-mls: runs bench_mls once per group size (a fresh process each)
# and prints the tables: sequential, then the operations that use the
# executor with no executor vs the library's default pool (same run,
# interleaved), then the Ed25519 verification floor, then the sizes.
#   sh scripts/bench-mls.sh BENCH_BINARY "10 100 1000 10000"
set -e
bin=$1
sizes=${2:-10 100 1000 10000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo "?")
echo "median times, suite 0x0001, $cores cores; sequential (no executor):"
echo "n bulk_add_ms join_ms update_create_ms update_process_ms add_create_ms add_process_ms remove_create_ms remove_process_ms protect_us unprotect_us"
for n in $sizes; do
    "$bin" "$n" > "$tmp/$n"
    sed -n 's/^ROW //p' "$tmp/$n"
done
echo
echo "executor: sequential ms / default pool ms (ratio pool/sequential):"
echo "n bulk_add join update_create add_create remove_create"
for n in $sizes; do
    seq=$(sed -n 's/^ROW //p' "$tmp/$n")
    par=$(sed -n 's/^PAR //p' "$tmp/$n")
    echo "$seq $par" | awk '{
        printf "%s", $1;
        split("2 3 4 6 8", si, " ");
        for (k = 1; k <= 5; k++) {
            s = $(si[k]); p = $(11 + 1 + k);
            printf " %s/%s(%.2f)", s, p, (s > 0 ? p / s : 0);
        }
        printf "\n"; }'
done
echo
"$bin" sig > "$tmp/sig"
echo "signature floor (Ed25519 VerifyWithLabel, 100-byte messages): verifies/s"
sed -n 's/^SIG //p' "$tmp/sig" | awk -v c="$cores" '{ printf "1 thread %s, pool (%s threads) %s, ratio %.2f\n", $1, c, $2, ($1 > 0 ? $2 / $1 : 0) }'
echo
echo "sizes in bytes (creator's serialized group state after the scenario; commit and Welcome messages):"
echo "n state bulk_add_commit bulk_add_welcome update_commit add_commit remove_commit"
for n in $sizes; do
    sed -n 's/^SIZES //p' "$tmp/$n"
done
