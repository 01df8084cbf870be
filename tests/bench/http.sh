#!/usr/bin/env bash
# Sequential HTTP: 2,000 GETs of a small JSON file from nginx on loopback,
# hlua (harness.request, the whole path: configuration, key, query, retry
# logic, response table) against curl fetching the same URLs with the same
# headers in one process with keep-alive. Best of 3 runs each.
set -eu
cd "$(dirname "$0")/../.."
HLUA=${HLUA:-build/hlua}
N=${N:-2000}
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "tests/bench/http.sh: nginx is not installed (apt-get install nginx-light)" >&2; exit 0; }

dir=$(mktemp -d)
cleanup() { [ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
mkdir -p "$dir/www"
printf '{"status":"SUCCESS","data":{"identifier":"default","name":"Default"},"metaData":null,"correlationId":"1b2c3d4e"}\n' >"$dir/www/small.json"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
daemon on;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $dir; proxy_temp_path $dir; fastcgi_temp_path $dir;
  uwsgi_temp_path $dir; scgi_temp_path $dir;
  keepalive_requests 100000;
  types { application/json json; }
  server {
    listen 127.0.0.1:$port;
    root $dir/www;
  }
}
CONF
"$NGINX" -c "$dir/nginx.conf" -e "$dir/error.log"
for _ in $(seq 50); do [ -s "$dir/nginx.pid" ] && break; sleep 0.05; done

acc=benchAccount0000000000
key="pat.$acc.0123456789abcdef01234567.abcdefghij0123456789"
url="http://127.0.0.1:$port/small.json?accountIdentifier=$acc"
for _ in $(seq "$N"); do echo "url = \"$url\""; done >"$dir/curl.cfg"

now() { date +%s.%N; }
best() { sort -g | head -1; }

hlua_run() {
  local t0 t1
  t0=$(now)
  HOME=$dir HARNESS_ENDPOINT="http://127.0.0.1:$port" HARNESS_API_KEY=$key \
    "$HLUA" -e "for i = 1, $N do local r = harness.request('GET', '/small.json') assert(r.status == 200) end"
  t1=$(now)
  echo "$t1 - $t0" | bc -l
}
curl_run() {
  local t0 t1
  t0=$(now)
  curl -s -H "x-api-key: $key" -H "Harness-Account: $acc" -H 'Accept: application/json' \
    --compressed -K "$dir/curl.cfg" >/dev/null
  t1=$(now)
  echo "$t1 - $t0" | bc -l
}
"$HLUA" -e "" # warm the page cache
h=$(for _ in 1 2 3; do hlua_run; done | best)
c=$(for _ in 1 2 3; do curl_run; done | best)
awk -v n="$N" -v h="$h" -v c="$c" 'BEGIN {
  printf "%d sequential GETs from nginx: hlua %.3f s (%.0f req/s), curl %.3f s (%.0f req/s), hlua takes %.2fx curl'\''s time\n", n, h, n / h, c, n / c, h / c
  printf "row|%d sequential GETs (nginx, keep-alive)|%.0f req/s|curl -K (one process)|%.0f req/s|%.2fx\n", n, n / h, n / c, c / h }'
