#!/usr/bin/env bash
# JSON: harness.json against lua-cjson and dkjson (tests/bench/json_bench.lua),
# decode and encode throughput and decode peak memory, one run side by side.
set -eu
HLUA=${HLUA:-build/hlua}
exec "$HLUA" tests/bench/json_bench.lua "${JSON_BENCH_RUNS:-7}"
