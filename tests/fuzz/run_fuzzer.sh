#!/bin/sh
# A bounded fuzz run: FUZZER over its seed corpora (missing directories are skipped) with a fixed
# seed, for RUNS inputs or SECONDS, whichever comes first; what it finds goes to a scratch
# directory, never to the seeds.
# Usage: run_fuzzer.sh FUZZER RUNS SECONDS CORPUS_DIR...
set -eu
fuzzer=$1
runs=$2
seconds=$3
shift 3
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
corpora=""
for dir in "$@"; do
  if [ -d "$dir" ]; then corpora="$corpora $dir"; fi
done
# -timeout: one input taking seconds is a hang worth a report; -rss_limit_mb: a leak or blow-up.
# shellcheck disable=SC2086
"$fuzzer" -seed=1 -runs="$runs" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -print_final_stats=1 "$scratch" $corpora
