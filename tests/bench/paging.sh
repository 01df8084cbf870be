#!/usr/bin/env bash
# Paging 10,000 items: every pipeline of the sandbox's big project, 100 a
# page, with harness.paginate against a bash loop of curl + jq per page.
# Time is the median of 3 runs; peak RSS comes from /usr/bin/time -v.
set -eu
cd "$(dirname "$0")/../.."
HLUA=${HLUA:-build/hlua}
if [ -z "${HLUA_SANDBOX_INFO:-}" ]; then
  exec sandbox/with-sandbox "$0" "$@"
fi
account=$(jq -r .account "$HLUA_SANDBOX_INFO")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/page.sh" <<SH
n=0; page=0
while :; do
  body=\$(curl -s -X POST -H "x-api-key: \$HARNESS_API_KEY" -H 'Content-Type: application/json' \\
    -d '{"filterType":"PipelineSetup"}' \\
    "\$HARNESS_ENDPOINT/pipeline/api/pipelines/list?accountIdentifier=$account&orgIdentifier=default&projectIdentifier=big&page=\$page&size=100")
  count=\$(printf '%s' "\$body" | jq '.data.content | length')
  n=\$((n + count))
  last=\$(printf '%s' "\$body" | jq '.data.totalPages')
  page=\$((page + 1))
  [ "\$page" -ge "\$last" ] && break
done
echo \$n
SH

measure() { # label command... ; prints "seconds kb" of the median run
  for i in 1 2 3; do
    /usr/bin/time -f '%e %M' -o "$tmp/t$i" "$@" >"$tmp/out" 2>/dev/null
    [ "$(cat "$tmp/out")" = 10000 ] || { echo "paging: $* gave $(cat "$tmp/out") items" >&2; exit 1; }
  done
  cat "$tmp"/t1 "$tmp"/t2 "$tmp"/t3 | sort -n | sed -n 2p
}
read -r hs hk < <(measure "$HLUA" tests/bench/page_pipelines.lua)
read -r cs ck < <(measure bash "$tmp/page.sh")
printf 'paging 10,000 items: hlua %.2f s, %d KB peak; curl+jq loop %.2f s, %d KB peak (largest process)\n' "$hs" "$hk" "$cs" "$ck"
awk -v h="$hs" -v c="$cs" -v hk="$hk" 'BEGIN {
  printf "row|paging 10,000 pipelines (100 a page)|%.2f s, %.0f MB peak|bash loop of curl + jq|%.2f s|%.1fx faster\n", h, hk / 1024, c, c / h }'
