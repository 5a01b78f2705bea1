#!/usr/bin/env bash
# bench-ingest: how fast cordond processes metrics reports, against how fast
# mosquitto_sub alone drains the same stream through the same broker.
#   BENCH_N (default 100000) reports over BENCH_THINGS (default 10000) things,
#   published at full speed (QoS 1) by cordon-loadgen; both consumers
#   subscribe with QoS 0 (as cordond does). Two rounds of each, alternated;
#   the best round of each counts (the machine may be shared).
# Last line: bench ingest: cordond_reports_per_s=N sub_limit_per_s=M ratio=R
set -euo pipefail
. "$(dirname "$0")/cordond_env.sh"
N=${BENCH_N:-100000}
THINGS=${BENCH_THINGS:-10000}
ROUNDS=${BENCH_ROUNDS:-2}
LOADGEN=$build/bin/cordon-loadgen

start_broker
echo "broker on 127.0.0.1:$BROKER_PORT $PLUGIN_STATE; $N reports over $THINGS things, $ROUNDS rounds"

sub_round() { # the limit: mosquitto_sub alone
  mosquitto_sub -h 127.0.0.1 -p "$BROKER_PORT" -u "$SERVER_USER" -P "$SERVER_PASS" -q 0 -C "$N" \
    -t '$aws/things/+/defender/metrics/json' > /dev/null &
  local subpid=$! t0 t1
  pids+=($subpid)
  sleep 0.5
  t0=$(now)
  "$LOADGEN" flood 127.0.0.1 "$BROKER_PORT" "$SERVER_USER" "$SERVER_PASS" "$THINGS" "$N" 1 "s$1-" >/dev/null
  wait "$subpid"
  t1=$(now)
  printf 'round %d: mosquitto_sub drained %d reports in %.3f s\n' "$1" "$N" "$(echo "$t1 - $t0" | bc -l)" >&2
  echo "$N / ($t1 - $t0)" | bc -l
}

cordond_round() { # cordond alone (throttle floor 0: simulated things report back to back)
  local t0 t1 deadline
  start_cordond "ingest:
  throttle_floor: 0s"
  t0=$(now)
  "$LOADGEN" flood 127.0.0.1 "$BROKER_PORT" "$SERVER_USER" "$SERVER_PASS" "$THINGS" "$N" 1 "c$1-" >/dev/null
  deadline=$(( $(date +%s) + 300 ))
  while [ "$(processed)" -lt "$N" ]; do
    [ "$(date +%s)" -gt "$deadline" ] && { echo "cordond processed only $(processed) of $N" >&2; exit 1; }
    sleep 0.02
  done
  t1=$(now)
  printf 'round %d: cordond processed %d reports in %.3f s (accepted %s, commits %s)\n' "$1" "$N" \
    "$(echo "$t1 - $t0" | bc -l)" \
    "$(curl -s "127.0.0.1:$API_PORT/metrics" | awk '/^cordon_reports_accepted_total/ {print $NF}')" \
    "$(curl -s "127.0.0.1:$API_PORT/metrics" | awk '/^cordon_store_commits_total/ {print $NF}')" >&2
  kill "$CORDOND_PID"
  wait "$CORDOND_PID" 2>/dev/null || true
  echo "$N / ($t1 - $t0)" | bc -l
}

best_sub=0
best_cd=0
for r in $(seq "$ROUNDS"); do
  x=$(sub_round "$r")
  best_sub=$(echo "if ($x > $best_sub) $x else $best_sub" | bc -l)
  y=$(cordond_round "$r")
  best_cd=$(echo "if ($y > $best_cd) $y else $best_cd" | bc -l)
done
printf 'bench ingest: cordond_reports_per_s=%.0f sub_limit_per_s=%.0f ratio=%.2f\n' \
  "$best_cd" "$best_sub" "$(echo "$best_cd / $best_sub" | bc -l)"
