#!/usr/bin/env bash
# HTTP load benchmark of the public site, beside nginx serving a static copy of the same JSON list
# in the same run (issue 6). Prints requests/s and p50/p99 latency for `/`, `/api/v1/list` and a
# person page, then the JSON list at a fixed rate of half nginx's, each beside its target:
#   - JSON list at least 50% of nginx's rate;
#   - JSON list p99 under 10 ms at half of nginx's rate;
#   - home page at least 5,000 requests/s.
# Exits 0 when every target is met, 1 when one is missed, 2 when it could not run.
#
# Needs (Debian packages, installed when missing and root): wrk (saturating load), hey (fixed-rate
# load) and nginx. Uses target/release/coalition (built when missing) or $COALITION_BIN.
# Everything runs on loopback; every load run is bounded by BENCH_SECONDS.
#
# Usage: tests/bench/http.sh            (BENCH_SECONDS=10 BENCH_CONNECTIONS=32 by default)
set -euo pipefail
cd "$(dirname "$0")/../.."

SECONDS_PER_RUN="${BENCH_SECONDS:-10}"
CONNECTIONS="${BENCH_CONNECTIONS:-32}"
THREADS=2
JSON_SHARE_TARGET_PERCENT=50
JSON_P99_TARGET_MS=10
HOME_RATE_TARGET=5000
START_DEADLINE_SECONDS=300

die() { echo "error: $*" >&2; exit 2; }

need() {
  local command="$1" package="$2"
  command -v "$command" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing $package (Debian package) ..." >&2
    (apt-get install -y -qq "$package" || (apt-get update -qq && apt-get install -y -qq "$package")) >/dev/null \
      || die "cannot install $package"
  else
    die "$command is missing: apt-get install $package"
  fi
}
need wrk wrk
need hey hey
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need nginx nginx-light
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

BIN="${COALITION_BIN:-target/release/coalition}"
if [ ! -x "$BIN" ]; then
  echo "building the release binary (cargo build --release -p coalition-cli) ..." >&2
  cargo build --release --locked -p coalition-cli >&2 || die "cannot build $BIN"
fi

WORK="$(mktemp -d)"
# nginx workers run as an unprivileged user when started by root: they must read the copy.
chmod 755 "$WORK"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_for() {
  local url="$1" deadline=$((SECONDS + START_DEADLINE_SECONDS))
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || die "$url did not answer"
    sleep 0.2
  done
}

# 1. The demo data: `coalition demo` creates it on its first run; then a read-only node serves it
#    without a rate limit (every request of a load generator comes from one address).
DEMO_PORT="$(free_port)"
"$BIN" demo --data "$WORK/demo" --listen "127.0.0.1:$DEMO_PORT" 2>"$WORK/demo.log" &
DEMO_PID=$!
PIDS+=("$DEMO_PID")
wait_for "http://127.0.0.1:$DEMO_PORT/healthz"
kill "$DEMO_PID"; wait "$DEMO_PID" 2>/dev/null || true

PORT="$(free_port)"
RUST_LOG=warn "$BIN" serve --data "$WORK/demo" --listen "127.0.0.1:$PORT" --rate-limit-per-second 0 \
  2>"$WORK/serve.log" &
PIDS+=($!)
BASE="http://127.0.0.1:$PORT"
wait_for "$BASE/healthz"

# 2. nginx serving a static copy of the same JSON list.
mkdir -p "$WORK/static" "$WORK/nginx"
curl -fsS "$BASE/api/v1/list" -o "$WORK/static/list.json"
NGINX_PORT="$(free_port)"
cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes 2;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  types { application/json json; }
  client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx; fastcgi_temp_path $WORK/nginx;
  uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $WORK/static;
    etag on;
  }
}
CONF
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" &
PIDS+=($!)
wait_for "http://127.0.0.1:$NGINX_PORT/list.json"

CASE="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["entries"][0]["case"])' "$WORK/static/list.json")"
BYTES="$(wc -c <"$WORK/static/list.json")"

# wrk's summary -> "rate p50_ms p99_ms"
to_ms() { python3 -c '
import sys
v=sys.argv[1]
for unit,f in (("us",0.001),("ms",1),("s",1000)):
    if v.endswith(unit) and (unit!="s" or not v.endswith(("us","ms"))):
        print(f"{float(v[:-len(unit)])*f:.3f}"); break
' "$1"; }
saturate() {
  local out
  out="$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency "$1")"
  local rate p50 p99
  rate="$(awk '/^Requests\/sec/ {print $2}' <<<"$out")"
  p50="$(awk '$1=="50%" {print $2}' <<<"$out")"
  p99="$(awk '$1=="99%" {print $2}' <<<"$out")"
  grep -q "Non-2xx" <<<"$out" && die "non-2xx answers from $1"
  echo "${rate%.*} $(to_ms "$p50") $(to_ms "$p99")"
}

echo "coalition-ledger HTTP benchmark: $(nproc) cores, wrk -t$THREADS -c$CONNECTIONS -d${SECONDS_PER_RUN}s, list JSON $BYTES bytes"
printf '%-34s %10s %9s %9s\n' "target" "req/s" "p50 ms" "p99 ms"
row() { printf '%-34s %10s %9s %9s\n' "$1" $2; }
NGINX_RESULT="$(saturate "http://127.0.0.1:$NGINX_PORT/list.json")"; row "nginx static list.json" "$NGINX_RESULT"
LIST_RESULT="$(saturate "$BASE/api/v1/list")";                      row "coalition /api/v1/list" "$LIST_RESULT"
HOME_RESULT="$(saturate "$BASE/")";                                 row "coalition / (home page)" "$HOME_RESULT"
PERSON_RESULT="$(saturate "$BASE/persons/$CASE")";                  row "coalition /persons/{case}" "$PERSON_RESULT"

NGINX_RATE="${NGINX_RESULT%% *}"
LIST_RATE="${LIST_RESULT%% *}"
HOME_RATE="${HOME_RESULT%% *}"

# 3. The JSON list at half of nginx's rate, fixed (hey: workers x per-worker rate), for p99.
HALF=$((NGINX_RATE / 2))
WORKERS=$CONNECTIONS
PER_WORKER=$(( (HALF + WORKERS - 1) / WORKERS ))
HEY_OUT="$(hey -z "${SECONDS_PER_RUN}s" -c "$WORKERS" -q "$PER_WORKER" -disable-compression "$BASE/api/v1/list")"
FIXED_RATE="$(awk '/Requests\/sec:/ {print int($2)}' <<<"$HEY_OUT")"
FIXED_P50="$(awk '/ 50% in / {print $3*1000}' <<<"$HEY_OUT")"
FIXED_P99="$(awk '/ 99% in / {print $3*1000}' <<<"$HEY_OUT")"
row "coalition /api/v1/list @ fixed rate" "$FIXED_RATE $FIXED_P50 $FIXED_P99"
echo "  (asked for $((PER_WORKER * WORKERS)) req/s: half of nginx's $NGINX_RATE)"

echo
missed=0
check() {
  local ok="$1" text="$2"
  if [ "$ok" = 1 ]; then echo "met:    $text"; else echo "MISSED: $text"; missed=1; fi
}
share=$((100 * LIST_RATE / (NGINX_RATE > 0 ? NGINX_RATE : 1)))
check "$([ "$share" -ge "$JSON_SHARE_TARGET_PERCENT" ] && echo 1)" \
  "JSON list $LIST_RATE req/s = $share% of nginx's $NGINX_RATE (limit >= $JSON_SHARE_TARGET_PERCENT%)"
check "$(python3 -c "print(1 if float('$FIXED_P99') < $JSON_P99_TARGET_MS else 0)")" \
  "JSON list p99 $FIXED_P99 ms at $FIXED_RATE req/s (limit < $JSON_P99_TARGET_MS ms at half nginx's rate)"
check "$([ "$HOME_RATE" -ge "$HOME_RATE_TARGET" ] && echo 1)" \
  "home page $HOME_RATE req/s (limit >= $HOME_RATE_TARGET on $(nproc) cores)"
exit "$missed"
