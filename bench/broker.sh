#!/usr/bin/env bash
# bench/broker.sh — Mosquitto throughput with and without cordon_mosquitto.so.
# Two brokers on free 127.0.0.1 ports, the same C publisher/subscriber
# (build/bin/bench-broker) against each, 200,000 QoS 0 messages per run,
# rounds alternating between the brokers; each side's best round counts
# (the machine is shared: load only slows rounds down). Broker CPU time per
# message is printed too: it is what the plugin adds, independent of load.
# With the plugin, the publisher is a device publishing its own report topic
# (ACL WRITE: identity lookup + policy match per message) and the subscriber
# the server identity (ACL READ per delivery).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${CORDON_BUILD:-$root/build}
bench=$build/bin/bench-broker
plugin=$build/lib/cordon_mosquitto.so
count=${BENCH_BROKER_COUNT:-200000}
rounds=${BENCH_BROKER_ROUNDS:-5}
for f in "$bench" "$plugin"; do
  [ -e "$f" ] || { echo "bench/broker.sh: $f missing: run make build" >&2; exit 2; }
done

tmp=$(mktemp -d /tmp/cordon-bench-broker.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do nc -z 127.0.0.1 "$1" 2>/dev/null && return 0; sleep 0.05; done; echo "broker on $1 did not start" >&2; cat "$tmp"/*.log >&2; exit 1; }

p_with=$(free_port)
p_without=$(free_port)
echo "server-secret" > "$tmp/server.pass"
common="per_listener_settings false
persistence false
log_dest file $tmp/LOGNAME.log
log_type error
log_type warning
max_queued_messages 0"
[ "$(id -u)" = 0 ] && common="$common
user root"
cat > "$tmp/with.conf" <<CONF
listener $p_with 127.0.0.1
${common//LOGNAME/with}
plugin $plugin
plugin_opt_state_file $tmp/state.json
plugin_opt_server_password_file $tmp/server.pass
plugin_opt_metrics_interval 60
CONF
cat > "$tmp/without.conf" <<CONF
listener $p_without 127.0.0.1
${common//LOGNAME/without}
allow_anonymous true
CONF
mosquitto -c "$tmp/with.conf" 2>>"$tmp/with.err" & pids+=($!)
mosquitto -c "$tmp/without.conf" 2>>"$tmp/without.err" & pids+=($!)
wait_port "$p_with"
wait_port "$p_without"

# the device identity, through the control channel
mosquitto_pub -h 127.0.0.1 -p "$p_with" -u cordond -P server-secret -V mqttv5 -t '$CONTROL/cordon/v1' \
  -m '{"commands":[{"command":"set-credentials","thing":"bench-dev","password":"bench-pw"}]}'
for _ in $(seq 50); do grep -q bench-dev "$tmp/state.json" 2>/dev/null && break; sleep 0.1; done

topic='$aws/things/bench-dev/defender/metrics/json'
# broker CPU time (user+system, clock ticks) of a pid
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
run() { # port pid -> "msgs_per_s broker_cpu_us_per_msg"
  local c0 c1 rate
  c0=$(cpu_ticks "$2")
  rate=$("$bench" "$1" "$count" bench-dev bench-pw "$topic" cordond server-secret \
    '$aws/things/+/defender/metrics/json' 64 | sed -n 's/.*msgs_per_s=\([0-9]*\).*/\1/p')
  c1=$(cpu_ticks "$2")
  [ -n "$rate" ] || return 1
  echo "$rate $(awk -v d=$((c1 - c0)) -v hz="$hz" -v n="$count" 'BEGIN{printf "%.2f", d / hz * 1e6 / n}')"
}
with=(); without=(); cw=(); cwo=()
for r in $(seq "$rounds"); do
  w=$(run "$p_with" "${pids[0]}") || { echo "bench/broker.sh: lost messages (with plugin)" >&2; exit 1; }
  wo=$(run "$p_without" "${pids[1]}") || { echo "bench/broker.sh: lost messages (without)" >&2; exit 1; }
  echo "round $r: with_plugin=${w% *} msgs/s (broker ${w#* } us CPU/msg)  without=${wo% *} msgs/s (broker ${wo#* } us CPU/msg)"
  with+=("${w% *}"); without+=("${wo% *}"); cw+=("${w#* }"); cwo+=("${wo#* }")
done
# The machine is shared: other load only ever slows a round down, so each
# side's best round is its figure (median printed too).
best() { printf '%s\n' "$@" | sort -n | tail -n 1; }
least() { printf '%s\n' "$@" | sort -n | head -n 1; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
echo "median: with_plugin=$(median "${with[@]}") without=$(median "${without[@]}") msgs/s"
echo "broker CPU per message (least): with_plugin=$(least "${cw[@]}") us without=$(least "${cwo[@]}") us"
mw=$(best "${with[@]}")
mwo=$(best "${without[@]}")
ratio=$(awk -v a="$mw" -v b="$mwo" 'BEGIN{printf "%.2f", a/b}')
echo "bench broker: with_plugin_msgs_per_s=$mw without_msgs_per_s=$mwo ratio=$ratio"
