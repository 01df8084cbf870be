#!/usr/bin/env bash
# JSON: harness.json against lua-cjson and dkjson (tests/bench/json_bench.lua),
# decode and encode throughput per document shape and decode peak memory,
# one run side by side. JSON_BENCH_SHAPES="yaml unicode" limits the shapes.
set -eu
HLUA=${HLUA:-build/hlua}
# shellcheck disable=SC2086  # the shapes are words
exec "$HLUA" tests/bench/json_bench.lua "${JSON_BENCH_RUNS:-7}" ${JSON_BENCH_SHAPES:-}
