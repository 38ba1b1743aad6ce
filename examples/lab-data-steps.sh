#!/usr/bin/env bash
# The lab's data steps, run with the eddy CLI on this machine:
#   Part 1: create Lab-Stream, put records, read them back.
#           Create ProcessKinesisRecords from the blueprint, invoke it with the
#           console's Kinesis test event.
#   Part 2: create GameScoreRecords (change stream NEW_IMAGE) and GameScoresByUser,
#           put the lab's score item, show its change record, create
#           AggregateScoresByUser (a WebAssembly component) and invoke it with
#           the lab's `score` test event, then read Jane Doe's total: 100.
#   (Triggers that fire the functions by themselves come with `eddy lab`.)
#
# Usage: examples/lab-data-steps.sh [DATA_DIR]
# DATA_DIR defaults to a fresh temporary directory, removed at the end.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Trigger functions are wasm32-wasip2 components; the toolchain needs the target.
rustup target add wasm32-wasip2 >/dev/null 2>&1 || true
# The dev profile (dependencies optimised) shares its build with `cargo test`.
cargo build --quiet --manifest-path "$root/Cargo.toml" -p eddy
eddy_bin="${CARGO_TARGET_DIR:-$root/target}/debug/eddy"

if [[ $# -ge 1 ]]; then
    data_dir="$1"
else
    data_dir="$(mktemp -d "${TMPDIR:-/tmp}/eddy-lab.XXXXXX")"
    trap 'rm -rf "$data_dir"' EXIT
fi
eddy() { "$eddy_bin" --data-dir "$data_dir" "$@"; }
step() { printf '\n== %s\n' "$*" >&2; }

step "Part 1, task 1: create the Kinesis stream Lab-Stream (1 shard)"
eddy stream create Lab-Stream --shards 1

step "Put three records (the data a producer would send)"
eddy stream put Lab-Stream --partition-key user-1 --data 'Hello, this is a test 123.'
eddy stream put Lab-Stream --partition-key user-2 --data '{"event":"login","user":"JaneD"}'
eddy stream put Lab-Stream --partition-key user-1 --data 'Goodbye.'

step "Read them back from the oldest (one JSON line per record, data decoded)"
eddy stream read Lab-Stream --from trim-horizon

step "Part 1, tasks 2-3: create ProcessKinesisRecords from the blueprint and test it"
eddy function create ProcessKinesisRecords --blueprint kinesis-process-record \
    --role lambda_basic_execution
eddy invoke ProcessKinesisRecords --template kinesis

step "Part 2, task 4: create GameScoreRecords (RecordID:N, change stream NEW_IMAGE)"
eddy table create GameScoreRecords --partition-key RecordID:N --stream new-image

step "Create GameScoresByUser (Username:S)"
eddy table create GameScoresByUser --partition-key Username:S

step "Put the lab's score item into GameScoreRecords"
eddy table put GameScoreRecords \
    '{"RecordID":{"N":"2"},"Username":{"S":"Jane Doe"},"Score":{"N":"100"},"Nickname":{"S":"JaneD"}}'

step "The change record the put produced (what the lab's trigger receives)"
eddy table changes GameScoreRecords

step "Part 2, task 5: create AggregateScoresByUser and run the lab's score test event"
eddy function create AggregateScoresByUser --blueprint dynamodb-aggregate-scores \
    --role lambda_basic_execution_dynamodb
eddy invoke AggregateScoresByUser --event "$root/examples/events/score.json"

step "Jane Doe in GameScoresByUser (Score 100)"
eddy table get GameScoresByUser '{"Username":{"S":"Jane Doe"}}'
