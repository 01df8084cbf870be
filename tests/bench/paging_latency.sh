#!/usr/bin/env bash
# Paging 10,000 items behind 100 ms of latency: every pipeline of the
# sandbox's big project, 100 a page, with harness.paginate (which fetches
# the pages ahead that the first page announces) against one page at a
# time, whose bound is 100 pages x 100 ms, and against the goal of 1.5 s.
# Time is the median of 3 runs; requests are the list requests the sandbox
# logged per run; peak RSS comes from /usr/bin/time.
set -eu
cd "$(dirname "$0")/../.."
HLUA=${HLUA:-build/hlua}
LATENCY_MS=100
if [ -z "${HLUA_SANDBOX_INFO:-}" ] || [ "${BENCH_LATENCY:-}" != "$LATENCY_MS" ]; then
  export BENCH_LATENCY=$LATENCY_MS
  SANDBOX_FLAGS="--latency-ms $LATENCY_MS" exec sandbox/with-sandbox "$0" "$@"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT


ctl() { curl -s -X "$1" "$HARNESS_ENDPOINT/_sandbox/$2"; }
for i in 1 2 3; do
  ctl POST reset >/dev/null
  /usr/bin/time -f '%e %M' -o "$tmp/t$i" "$HLUA" tests/bench/page_pipelines.lua >"$tmp/out" 2>/dev/null
  [ "$(cat "$tmp/out")" = 10000 ] || { echo "paging_latency: hlua gave $(cat "$tmp/out") items" >&2; exit 1; }
  ctl GET requests | jq '[.requests[] | select(.path == "/pipeline/api/pipelines/list")] | length' >>"$tmp/reqs"
done
read -r hs hk < <(cat "$tmp"/t1 "$tmp"/t2 "$tmp"/t3 | sort -n | sed -n 2p)
reqs=$(sort -n "$tmp/reqs" | uniq | paste -sd/)
seq=$(awk -v l=$LATENCY_MS 'BEGIN { printf "%.2f", 100 * l / 1000 }')
printf 'paging 10,000 items at %d ms latency: hlua %.2f s, %s requests a run, %d KB peak; one page at a time >= %s s\n' \
  "$LATENCY_MS" "$hs" "$reqs" "$hk" "$seq"
awk -v h="$hs" -v s="$seq" -v r="$reqs" -v hk="$hk" 'BEGIN {
  printf "row|paging 10,000 pipelines at 100 ms latency (100 a page)|%.2f s, %s requests, %.0f MB peak|one page at a time (bound: 100 x 100 ms)|%.2f s|%.1fx faster\n", h, r, hk / 1024, s, s / h
  printf "row|paging 10,000 pipelines at 100 ms latency (100 a page)|%.2f s|goal|1.50 s|%.2fx under\n", h, 1.5 / h }'
