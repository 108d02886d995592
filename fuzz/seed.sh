#!/usr/bin/env bash
# Fills fuzz/corpus/TARGET/ with seeds taken from the repository's own
# pipelines, examples and bad-input corpus (the same seeds the smoke run in
# tests/fuzz_smoke.rs mutates). Run from anywhere; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
seed() { mkdir -p "fuzz/corpus/$1"; shift_target=$1; shift; for f in "$@"; do cp "$f" "fuzz/corpus/$shift_target/$(echo "$f" | tr / _)"; done; }
seed pipeline pipelines/*.kdl tests/validate/good/*.kdl tests/validate/broken/*.kdl tests/bad-input/pipelines/*.kdl
seed fmt pipelines/*.kdl tests/validate/good/*.kdl tests/fmt/*.kdl
head -c 4000 examples/staff-sso/day-1.jsonl > /tmp/rollcall-seed-day1.jsonl
seed jsonl /tmp/rollcall-seed-day1.jsonl tests/bad-input/data/*.jsonl
seed json_array tests/bad-input/data/*.json
mkdir -p fuzz/corpus/csv
for f in tests/bad-input/data/*.csv; do
    for flags in '\x00' '\x08' '\x10'; do
        { printf "$flags"; cat "$f"; } > "fuzz/corpus/csv/$(basename "$f")-$(printf %s "$flags" | tr -d '\\')"
    done
done
seed gzip tests/bad-input/data/*.gz
gzip -c /tmp/rollcall-seed-day1.jsonl > fuzz/corpus/gzip/day1.jsonl.gz
echo "seeded: $(find fuzz/corpus -type f | wc -l) files"
