"""A device in Signature mode with Paho (Debian's python3-paho-mqtt): subscribe, publish, P2P."""
import base64
import hashlib
import hmac
import os
import threading

import paho.mqtt.client as mqtt

HOST = os.environ.get("FERRY_MQTT_HOST", "127.0.0.1")
PORT = int(os.environ.get("FERRY_MQTT_PORT", "1883"))
INSTANCE = os.environ.get("FERRY_INSTANCE", "mqtt-default")
AK, SK = os.environ["FERRY_AK"], os.environ["FERRY_SK"]
CLIENT_ID = "GID_demo@@@py-1"

# Signature mode: username Signature|AK|instance, password Base64(HMAC-SHA1(secret, client id)).
password = base64.b64encode(hmac.new(SK.encode(), CLIENT_ID.encode(), hashlib.sha1).digest()).decode()

try:  # paho-mqtt 2.x
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=CLIENT_ID)
except AttributeError:  # paho-mqtt 1.x
    client = mqtt.Client(client_id=CLIENT_ID)
client.username_pw_set(f"Signature|{AK}|{INSTANCE}", password)

received = []
both = threading.Event()


def on_message(_client, _userdata, message):
    received.append(message.topic)
    print(f"received {message.topic}: {message.payload.decode()}", flush=True)
    if len(received) == 2:
        both.set()


client.on_message = on_message
client.connect(HOST, PORT, keepalive=60)
client.loop_start()
client.subscribe("demo/py/#", qos=1)
client.publish("demo/py/hello", "from paho", qos=1).wait_for_publish(5)
# P2P: <parent topic>/p2p/<client id> reaches that client without a subscription.
client.publish(f"demo/p2p/{CLIENT_ID}", "p2p from paho", qos=1).wait_for_publish(5)
if not both.wait(10):
    raise SystemExit(f"only received {received}")
client.disconnect()
client.loop_stop()
