#!/bin/sh
# mosquitto_sub and mosquitto_pub in Signature mode (Debian's mosquitto-clients and openssl).
set -eu
HOST=${FERRY_MQTT_HOST:-127.0.0.1}
PORT=${FERRY_MQTT_PORT:-1883}
INSTANCE=${FERRY_INSTANCE:-mqtt-default}

# password = Base64(HMAC-SHA1(AccessKey secret, client id))
sign() { printf '%s' "$1" | openssl dgst -sha1 -hmac "$FERRY_SK" -binary | base64; }

SUB=GID_demo@@@shell-sub
PUB=GID_demo@@@shell-pub
mosquitto_sub -h "$HOST" -p "$PORT" -V mqttv311 -q 1 -i "$SUB" -u "Signature|$FERRY_AK|$INSTANCE" -P "$(sign "$SUB")" \
  -t 'demo/shell/#' -C 1 -W 10 -v &
SUB_PID=$!
# mosquitto_sub cannot say when its subscription is in place: publish until it has a message.
for _ in 1 2 3 4 5 6 7 8 9 10; do
  kill -0 "$SUB_PID" 2>/dev/null || break
  mosquitto_pub -h "$HOST" -p "$PORT" -V mqttv311 -q 1 -i "$PUB" -u "Signature|$FERRY_AK|$INSTANCE" -P "$(sign "$PUB")" \
    -t demo/shell/greeting -m 'hello from mosquitto_pub'
  sleep 0.5
done
wait "$SUB_PID"
