#!/usr/bin/env bash
# Start-up: `hlua -e ''` against `lua5.4 -e ''` and `python3 -c ''`, medians
# of many runs (hyperfine, no shell in between).
set -eu
HLUA=${HLUA:-build/hlua}
json=$(mktemp)
trap 'rm -f "$json"' EXIT
hyperfine -N --warmup 30 --runs 400 --export-json "$json" \
  "lua5.4 -e ''" "$HLUA -e ''" "/usr/bin/python3 -c ''" >/dev/null 2>&1
median() { jq -r --arg c "$1" '.results[] | select(.command == $c) | .median * 1000' "$json"; }
lua=$(median "lua5.4 -e ''")
hlua=$(median "$HLUA -e ''")
py=$(median "/usr/bin/python3 -c ''")
printf 'start-up medians: hlua %.2f ms, lua5.4 %.2f ms, python3 %.2f ms\n' "$hlua" "$lua" "$py"
awk -v h="$hlua" -v l="$lua" -v p="$py" 'BEGIN {
  printf "row|start-up, hlua -e '\'''\''|%.2f ms|lua5.4 -e '\'''\''|%.2f ms|%.2fx slower\n", h, l, h / l
  printf "row|start-up, hlua -e '\'''\''|%.2f ms|/usr/bin/python3 -c '\'''\''|%.2f ms|%.1fx faster\n", h, p, p / h }'
