#!/usr/bin/env bash
# bench-paging: violating report published -> first email of the incident
# accepted by a real SMTP server (aiosmtpd, tests/e2e/smtp_sink.py), over
# BENCH_INCIDENTS (default 200) incidents of distinct things, one report every
# BENCH_SPACING_MS (default 50). The path measured: MQTT ingest, detect,
# violation, incident start, engagement, outbox commit, SMTP over libcurl.
# Last line: bench paging: p50_ms=A p99_ms=B samples=S
set -euo pipefail
. "$(dirname "$0")/cordond_env.sh"
N=${BENCH_INCIDENTS:-200}
SPACING=${BENCH_SPACING_MS:-50}
src=$(cd "$(dirname "$0")/.." && pwd)

SMTP_PORT=$(free_port)
: > "$tmp/mail.jsonl"
/usr/bin/python3 "$src/tests/e2e/smtp_sink.py" "$SMTP_PORT" "$tmp/mail.jsonl" > "$tmp/smtp.log" 2>&1 &
pids+=($!)
wait_port "$SMTP_PORT"
start_broker
start_cordond "smtp:
  host: 127.0.0.1
  port: $SMTP_PORT
  security: none
  from: bench@localhost"
echo "broker on 127.0.0.1:$BROKER_PORT $PLUGIN_STATE; SMTP sink on 127.0.0.1:$SMTP_PORT"
curl -s -f -X POST -H "Authorization: Bearer $ADMIN_TOKEN" --data-binary @- \
  "127.0.0.1:$API_PORT/api/v1/config/apply" > /dev/null <<'YAML'
securityProfiles:
  - securityProfileName: DeviceRuleBaseline
    targets: [all/things]
    responsePlan: BenchPlan
    behaviors:
      - name: AuthorizedTcpPorts
        metric: aws:listening-tcp-ports
        criteria: {comparisonOperator: in-port-set, value: {ports: [22, 53, 443]}}
contacts:
  - alias: oncall
    channels:
      - name: email
        type: EMAIL
        deliveryAddress: oncall@example.org
        activationStatus: ACTIVATED
    plan:
      stages:
        - durationSeconds: 600
          targets:
            - channel: email
responsePlans:
  - name: BenchPlan
    incidentTemplate:
      title: "Critical IoT Device Incident | {{violationId}}"
      impact: 3
    engagements: [oncall]
YAML
/usr/bin/python3 "$src/bench/paging_probe.py" "$BROKER_PORT" "$SERVER_USER" "$SERVER_PASS" \
  "$tmp/mail.jsonl" "$N" "$SPACING"
