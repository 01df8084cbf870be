#!/usr/bin/env bash
# A one-liner end to end: hlua -p fetching the current user's email, against
# the same request with curl piped to jq. Medians of whole command runs.
set -eu
cd "$(dirname "$0")/../.."
HLUA=${HLUA:-build/hlua}
if [ -z "${HLUA_SANDBOX_INFO:-}" ]; then
  exec sandbox/with-sandbox "$0" "$@"
fi
account=$(jq -r .account "$HLUA_SANDBOX_INFO")
json=$(mktemp)
cmds=$(mktemp)
trap 'rm -f "$json" "$cmds"' EXIT
url="$HARNESS_ENDPOINT/ng/api/user/currentUser?accountIdentifier=$account"
hyperfine --warmup 5 --runs 60 --export-json "$json" \
  "$HLUA -p 'harness.get(\"/ng/api/user/currentUser\").data.email'" \
  "curl -s -H \"x-api-key: \$HARNESS_API_KEY\" '$url' | jq -r .data.email" >/dev/null 2>&1
# hyperfine runs both through a shell; its own cost is subtracted from each.
hlua=$(jq '.results[0].median * 1000' "$json")
curl=$(jq '.results[1].median * 1000' "$json")
printf 'one-liner medians: hlua -p %.1f ms, curl | jq %.1f ms\n' "$hlua" "$curl"
awk -v h="$hlua" -v c="$curl" 'BEGIN {
  printf "row|one-liner: current user email|%.1f ms|curl piped to jq|%.1f ms|%.2fx faster\n", h, c, c / h }'
