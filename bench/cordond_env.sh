# Shared by bench/ingest.sh and bench/latency.sh: a broker (with the Cordon
# plugin when it is built) and a cordond on free loopback ports in a temp dir.
# Everything started here is stopped by bench_cleanup (by pid).
build=${CORDON_BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}
tmp=$(mktemp -d /tmp/cordon-bench.XXXXXX)
pids=()
SERVER_USER=cordond
SERVER_PASS=bench-secret
PLUGIN=$build/lib/cordon_mosquitto.so

free_port() { /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
now() { date +%s.%N; }
wait_port() { for _ in $(seq 200); do nc -z 127.0.0.1 "$1" 2>/dev/null && return 0; sleep 0.05; done; echo "nothing on port $1" >&2; return 1; }

bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap bench_cleanup EXIT

start_broker() {
  BROKER_PORT=$(free_port)
  {
    echo "per_listener_settings false"
    echo "listener $BROKER_PORT 127.0.0.1"
    echo "persistence false"
    echo "max_queued_messages 0"
    echo "log_dest none"
    [ "$(id -u)" = 0 ] && echo "user root"
    if [ -f "$PLUGIN" ]; then
      echo "$SERVER_PASS" > "$tmp/server.pass"
      echo "plugin $PLUGIN"
      echo "plugin_opt_state_file $tmp/broker-state.json"
      echo "plugin_opt_server_identity $SERVER_USER"
      echo "plugin_opt_server_password_file $tmp/server.pass"
      echo "plugin_opt_metrics_interval 10"
    else
      echo "allow_anonymous true"
    fi
  } > "$tmp/mosquitto.conf"
  mosquitto -c "$tmp/mosquitto.conf" > "$tmp/mosquitto.log" 2>&1 &
  pids+=($!)
  wait_port "$BROKER_PORT"
  if [ -f "$PLUGIN" ]; then PLUGIN_STATE="with the cordon plugin"; else PLUGIN_STATE="WITHOUT the plugin (not built)"; fi
}

start_cordond() { # extra YAML appended to the config
  API_PORT=$(free_port)
  cat > "$tmp/cordond.yaml" <<YAML
data_dir: $tmp/var
broker:
  port: $BROKER_PORT
  username: $SERVER_USER
  password: $SERVER_PASS
api:
  listen: 127.0.0.1:$API_PORT
store:
  path: $tmp/var/cordon.db
log:
  level: warn
$1
YAML
  "$build/bin/cordond" --config "$tmp/cordond.yaml" > "$tmp/cordond.log" 2>&1 &
  CORDOND_PID=$!
  pids+=($CORDOND_PID)
  wait_port "$API_PORT"
  for _ in $(seq 100); do
    curl -s "127.0.0.1:$API_PORT/healthz" | grep -q '"mqtt":"connected"' && break
    sleep 0.05
  done
  ADMIN_TOKEN=$(cat "$tmp/var/admin.token")
}

processed() { # reports accepted + rejected so far
  curl -s "127.0.0.1:$API_PORT/metrics" |
    awk '/^cordon_reports_(accepted|rejected)_total/ {s += $NF} END {printf "%d\n", s}'
}
