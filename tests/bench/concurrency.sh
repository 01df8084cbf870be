#!/usr/bin/env bash
# Concurrency: 1,000 GETs against the sandbox with 50 ms of latency each,
# through harness.map at concurrency 32 and 8, against the physical bound
# (requests x latency / concurrency), one request at a time (100 measured,
# scaled to 1,000) and `xargs -P 32 curl` over the same URL; then the peak
# memory of 10,000 sleeping tasks. Whole command lines are timed.
set -eu
cd "$(dirname "$0")/../.."
HLUA=${HLUA:-build/hlua}
LATENCY_MS=50
N=1000
if [ -z "${HLUA_SANDBOX_INFO:-}" ] || [ "${BENCH_LATENCY:-}" != "$LATENCY_MS" ]; then
  export BENCH_LATENCY=$LATENCY_MS
  SANDBOX_FLAGS="--latency-ms $LATENCY_MS" exec sandbox/with-sandbox "$0" "$@"
fi
account=$(jq -r .account "$HLUA_SANDBOX_INFO")
path=/ng/api/user/currentUser
url="$HARNESS_ENDPOINT$path?accountIdentifier=$account"
export HARNESS_MAX_IN_FLIGHT=64 # so that the cap is map's concurrency

now_ms() { date +%s%3N; }
# Runs a command, prints how many seconds it took; fails if it failed.
timed() {
  local t0 t1
  t0=$(now_ms)
  "$@" >/dev/null
  t1=$(now_ms)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1000 }'
}

map_run() { # concurrency
  "$HLUA" -e "
    local list = {}
    for i = 1, $N do list[i] = i end
    local r = harness.map(list, function() return harness.get('$path') end, {concurrency = $1})
    assert(#r == $N and r[$N].data.email)"
}
sequential_run() {
  "$HLUA" -e "for i = 1, $((N / 10)) do assert(harness.get('$path').data.email) end"
}
xargs_run() { # URLs per curl process
  yes "$url" | head -n "$N" |
    xargs -P 32 -n "$1" curl -s -f -o /dev/null -H "x-api-key: $HARNESS_API_KEY"
}

map_run 32 >/dev/null # warm up the sandbox
c32=$(timed map_run 32)
c8=$(timed map_run 8)
seq100=$(timed sequential_run)
seq=$(awk -v s="$seq100" 'BEGIN { printf "%.3f", s * 10 }')
xa=$(timed xargs_run 1)
xa50=$(timed xargs_run 50)
b32=$(awk -v n=$N -v l=$LATENCY_MS 'BEGIN { printf "%.3f", n * l / 1000 / 32 }')
b8=$(awk -v n=$N -v l=$LATENCY_MS 'BEGIN { printf "%.3f", n * l / 1000 / 8 }')

# 10,000 tasks, each asleep for 1 s, then all waited for.
tasks_run() {
  /usr/bin/time -f '%M' "$HLUA" -e "
    local ts = {}
    for i = 1, 10000 do ts[i] = harness.spawn(function() harness.sleep(1) return i end) end
    local sum = 0
    for i = 1, 10000 do sum = sum + ts[i]:wait() end
    assert(sum == 50005000)" 2>&1 >/dev/null | tail -1
}
base_kb=$(/usr/bin/time -f '%M' "$HLUA" -e "" 2>&1 | tail -1)
t0=$(now_ms)
tasks_kb=$(tasks_run)
tasks_s=$(awk -v a="$t0" -v b="$(now_ms)" 'BEGIN { printf "%.2f", (b - a) / 1000 }')

echo "$N GETs, $LATENCY_MS ms latency each: map c=32 ${c32}s (bound ${b32}s), c=8 ${c8}s (bound ${b8}s),"
echo "  one at a time ${seq}s (100 took ${seq100}s), xargs -P 32 curl: one URL per curl ${xa}s, 50 per curl ${xa50}s"
echo "10,000 sleeping tasks: peak RSS $((tasks_kb / 1024)) MB (hlua -e '' alone: $((base_kb / 1024)) MB), ${tasks_s}s for a 1 s sleep"
awk -v c32="$c32" -v c8="$c8" -v b32="$b32" -v b8="$b8" -v seq="$seq" -v xa="$xa" -v xa50="$xa50" \
    -v kb="$tasks_kb" -v n="$N" 'BEGIN {
  printf "row|%d GETs x 50 ms, harness.map c=32|%.2f s|physical bound|%.2f s|%.2fx the bound (goal <= 1.25x)\n", n, c32, b32, c32 / b32
  printf "row|%d GETs x 50 ms, harness.map c=8|%.2f s|physical bound|%.2f s|%.2fx the bound\n", n, c8, b8, c8 / b8
  printf "row|%d GETs x 50 ms, harness.map c=32|%.2f s|one at a time (100, x10)|%.2f s|%.1fx faster\n", n, c32, seq, seq / c32
  printf "row|%d GETs x 50 ms, harness.map c=32|%.2f s|xargs -P 32 curl, 1 URL each|%.2f s|%.2fx faster\n", n, c32, xa, xa / c32
  printf "row|%d GETs x 50 ms, harness.map c=32|%.2f s|xargs -P 32 curl, 50 URLs each|%.2f s|%.2fx faster\n", n, c32, xa50, xa50 / c32
  printf "row|10,000 sleeping tasks, peak RSS|%.1f MB|goal|64 MB|%.1fx under\n", kb / 1024, 64 * 1024 / kb }'
