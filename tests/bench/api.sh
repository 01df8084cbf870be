#!/usr/bin/env bash
# harness.api's first use: nothing of it loads until a script touches
# harness.api; then the operation table (1,206 operations) is read, and each
# tag is split into operations when it is used. Measured in one hlua, CPU
# time (median of 9 runs): the first use (harness.api.Token.ListAggregatedTokens:
# the table, the request layers it sits on, one operation) and every tag's
# names (what completion and --doc harness.api read), with the Lua heap
# they add. Goals: under 10 ms and 4 MiB.
set -eu
cd "$(dirname "$0")/../.."
HLUA=${HLUA:-build/hlua}
runs=$(for _ in $(seq 9); do "$HLUA" -e '
  collectgarbage() collectgarbage()
  local k0, c0 = collectgarbage("count"), os.clock()
  local _ = harness.api.Token.ListAggregatedTokens
  local c1 = os.clock()
  local n = #harness.api.names()
  local c2 = os.clock()
  collectgarbage() collectgarbage()
  print(("%.3f %.3f %.0f %d"):format((c1 - c0) * 1000, (c2 - c0) * 1000, collectgarbage("count") - k0, n))'
done)
median() { echo "$runs" | awk -v c="$1" '{print $c}' | sort -n | sed -n 5p; }
first=$(median 1)
whole=$(median 2)
kb=$(median 3)
n=$(echo "$runs" | awk '{print $4}' | head -1)
printf 'harness.api: first use %s ms, every tag (%s operations) %s ms, %s KiB of Lua heap (medians of 9)\n' "$first" "$n" "$whole" "$kb"
awk -v f="$first" -v w="$whole" -v kb="$kb" '
function against(v, goal) { return v <= goal ? sprintf("%.1fx under", goal / v) : sprintf("%.2fx over", v / goal) }
BEGIN {
  printf "row|harness.api first use: the whole table loaded, one operation made|%.1f ms|goal|10 ms|%s\n", f, against(f, 10)
  printf "row|harness.api, every operation named (completion, --doc)|%.1f ms|goal|10 ms|%s\n", w, against(w, 10)
  printf "row|harness.api, memory with every tag split|%.1f MiB|goal|4 MiB|%s\n", kb / 1024, against(kb, 4096) }'
