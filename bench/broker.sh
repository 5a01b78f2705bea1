#!/usr/bin/env bash
# bench/broker.sh — Mosquitto throughput with and without cordon_mosquitto.so.
# Two brokers on free 127.0.0.1 ports; one C publisher/subscriber pair per
# broker (build/bin/bench-broker, libmosquitto), the same code and settings
# for both, 200,000 QoS 0 messages (64-byte payload) through each in one
# run, in batches of 10,000 alternating ABBA between the brokers so that the
# load of a shared machine hits both alike. With the plugin the publisher is
# a device publishing its own report topic (ACL WRITE per message: identity
# lookup + policy match) and the subscriber the server identity (ACL READ
# per delivery). The broker's CPU time per message is printed too: it is the
# plugin's cost independent of machine load.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${CORDON_BUILD:-$root/build}
bench=$build/bin/bench-broker
plugin=$build/lib/cordon_mosquitto.so
count=${BENCH_BROKER_COUNT:-200000}
batch=${BENCH_BROKER_BATCH:-10000}
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
c0_with=$(cpu_ticks "${pids[0]}"); c0_without=$(cpu_ticks "${pids[1]}")
out=$("$bench" "$count" "$batch" bench-dev bench-pw "$topic" cordond server-secret \
  '$aws/things/+/defender/metrics/json' 64 "$p_with" "$p_without") || {
  echo "$out"; echo "bench/broker.sh: messages were lost" >&2; exit 1; }
c1_with=$(cpu_ticks "${pids[0]}"); c1_without=$(cpu_ticks "${pids[1]}")
echo "$out" | sed "s/^port=$p_with /with plugin:    /; s/^port=$p_without /without plugin: /"
rate() { echo "$out" | sed -n "s/^port=$1 msgs_per_s=\([0-9]*\).*/\1/p"; }
us_per_msg() { awk -v d="$1" -v hz="$hz" -v n="$count" 'BEGIN{printf "%.2f", d / hz * 1e6 / n}'; }
echo "broker CPU per message: with_plugin=$(us_per_msg $((c1_with - c0_with))) us without=$(us_per_msg $((c1_without - c0_without))) us"
mw=$(rate "$p_with")
mwo=$(rate "$p_without")
ratio=$(awk -v a="$mw" -v b="$mwo" 'BEGIN{printf "%.2f", a/b}')
echo "bench broker: with_plugin_msgs_per_s=$mw without_msgs_per_s=$mwo ratio=$ratio"
