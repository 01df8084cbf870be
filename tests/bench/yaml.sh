#!/usr/bin/env bash
# YAML: harness.yaml against lyaml (tests/bench/yaml_bench.lua), decode and
# encode time and peak memory on a 1.6 MB pipeline, one run side by side.
set -eu
HLUA=${HLUA:-build/hlua}
exec "$HLUA" tests/bench/yaml_bench.lua "${YAML_BENCH_RUNS:-7}"
