#!/usr/bin/env bash
# bench-ingest: how fast cordond processes metrics reports, against how fast
# mosquitto_sub alone drains the same stream through the same broker.
#   BENCH_N (default 100000) reports over BENCH_THINGS (default 10000) things,
#   published at full speed (QoS 1) by cordon-loadgen.
# Last line: bench ingest: cordond_reports_per_s=N sub_limit_per_s=M ratio=R
set -euo pipefail
. "$(dirname "$0")/cordond_env.sh"
N=${BENCH_N:-100000}
THINGS=${BENCH_THINGS:-10000}
LOADGEN=$build/bin/cordon-loadgen

start_broker
echo "broker on 127.0.0.1:$BROKER_PORT $PLUGIN_STATE; $N reports over $THINGS things"

# 1. the limit: mosquitto_sub alone
mosquitto_sub -h 127.0.0.1 -p "$BROKER_PORT" -u "$SERVER_USER" -P "$SERVER_PASS" -q 1 -C "$N" \
  -t '$aws/things/+/defender/metrics/json' > /dev/null &
subpid=$!
pids+=($subpid)
sleep 0.5
t0=$(now)
"$LOADGEN" flood 127.0.0.1 "$BROKER_PORT" "$SERVER_USER" "$SERVER_PASS" "$THINGS" "$N" 1 sub- >/dev/null
wait "$subpid"
t1=$(now)
sub_rate=$(echo "$N / ($t1 - $t0)" | bc -l)
printf 'mosquitto_sub drained %d reports in %.3f s\n' "$N" "$(echo "$t1 - $t0" | bc -l)"

# 2. cordond (throttle floor 0: the simulated things report back to back)
start_cordond "ingest:
  throttle_floor: 0s"
t0=$(now)
"$LOADGEN" flood 127.0.0.1 "$BROKER_PORT" "$SERVER_USER" "$SERVER_PASS" "$THINGS" "$N" 1 cd- >/dev/null
deadline=$(( $(date +%s) + 300 ))
while [ "$(processed)" -lt "$N" ]; do
  [ "$(date +%s)" -gt "$deadline" ] && { echo "cordond processed only $(processed) of $N" >&2; exit 1; }
  sleep 0.02
done
t1=$(now)
cd_rate=$(echo "$N / ($t1 - $t0)" | bc -l)
printf 'cordond processed %d reports in %.3f s (accepted: %s)\n' "$N" "$(echo "$t1 - $t0" | bc -l)" \
  "$(curl -s "127.0.0.1:$API_PORT/metrics" | awk '/^cordon_reports_accepted_total/ {print $NF}')"
curl -s "127.0.0.1:$API_PORT/metrics" | grep -E "^cordon_store_commits_total" >&2
printf 'bench ingest: cordond_reports_per_s=%.0f sub_limit_per_s=%.0f ratio=%.2f\n' \
  "$cd_rate" "$sub_rate" "$(echo "$cd_rate / $sub_rate" | bc -l)"
