#!/usr/bin/env bash
# bench-latency: violating report -> quarantine command, with BENCH_THINGS
# (default 10000) things reporting every BENCH_PERIOD (default 10) seconds in
# the background. BENCH_SAMPLES (default 200) probes, one every 50 ms.
# With the plugin loaded the command itself is consumed by the plugin, so the
# probe is timed to the plugin's answer on $CONTROL/cordon/v1/response (the
# quarantine is in force then); without it, to the command on $CONTROL/cordon/v1.
# Last line: bench latency: p50_ms=A p99_ms=B samples=S
set -euo pipefail
. "$(dirname "$0")/cordond_env.sh"
THINGS=${BENCH_THINGS:-10000}
PERIOD=${BENCH_PERIOD:-10}
SAMPLES=${BENCH_SAMPLES:-200}

start_broker
echo "broker on 127.0.0.1:$BROKER_PORT $PLUGIN_STATE"
start_cordond ""
curl -s -f -X POST -H "Authorization: Bearer $ADMIN_TOKEN" --data-binary @- \
  "127.0.0.1:$API_PORT/api/v1/config/apply" > /dev/null <<'YAML'
securityProfiles:
  - securityProfileName: DeviceRuleBaseline
    targets: [all/things]
    behaviors:
      - name: AuthorizedTcpPorts
        metric: aws:listening-tcp-ports
        criteria:
          comparisonOperator: in-port-set
          value: {ports: [22, 53, 443]}
    mitigationActions:
      - type: ADD_THINGS_TO_THING_GROUP
        thingGroupNames: [QUARANTINED]
YAML
"$build/bin/cordon-loadgen" latency 127.0.0.1 "$BROKER_PORT" "$SERVER_USER" "$SERVER_PASS" \
  "$THINGS" "$PERIOD" "$SAMPLES"
