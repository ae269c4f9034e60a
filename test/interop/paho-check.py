"""Paho Python (Debian python3-paho-mqtt, 1.6) against Ferry, driven by paho.test.ts.

    /usr/bin/python3 paho-check.py PORT tcp|websockets 311|5 TOPIC

Connects a subscriber and a publisher, subscribes TOPIC/# at QoS 2, publishes at QoS 0, 1 and 2,
publishes a retained message that a third client then receives on subscribe, and with MQTT 5
also sends properties. Prints one JSON object describing everything received and exits 0;
any failure or timeout exits 1 with the reason on stderr.
"""
import json
import sys
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

TIMEOUT = 5.0


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)


port, transport, version, topic = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
protocol = mqtt.MQTTv5 if version == "5" else mqtt.MQTTv311


class Client:
    """One Paho client on its own network thread, with events for CONNACK, SUBACK and messages."""

    def __init__(self, name):
        kwargs = {"client_id": f"paho-{name}-{version}-{transport}", "protocol": protocol, "transport": transport}
        if protocol == mqtt.MQTTv311:
            kwargs["clean_session"] = True
        self.client = mqtt.Client(**kwargs)
        if transport == "websockets":
            self.client.ws_set_options(path="/mqtt")
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.messages = []
        self.message_arrived = threading.Condition()
        self.connack = None
        self.granted = None
        self.client.on_connect = self.on_connect
        self.client.on_subscribe = self.on_subscribe
        self.client.on_message = self.on_message

    def on_connect(self, client, userdata, flags, rc, properties=None):
        self.connack = int(rc) if not hasattr(rc, "value") else rc.value
        self.connected.set()

    def on_subscribe(self, client, userdata, mid, granted, properties=None):
        self.granted = [g if isinstance(g, int) else g.value for g in granted]
        self.subscribed.set()

    def on_message(self, client, userdata, message):
        entry = {"topic": message.topic, "qos": message.qos, "retain": bool(message.retain), "payload": message.payload.decode()}
        props = getattr(message, "properties", None)
        if props is not None:
            if hasattr(props, "UserProperty"):
                entry["userProperties"] = [list(p) for p in props.UserProperty]
            if hasattr(props, "ContentType"):
                entry["contentType"] = props.ContentType
            if hasattr(props, "CorrelationData"):
                entry["correlationData"] = props.CorrelationData.decode()
        with self.message_arrived:
            self.messages.append(entry)
            self.message_arrived.notify_all()

    def connect(self):
        if protocol == mqtt.MQTTv5:
            self.client.connect("127.0.0.1", port, keepalive=30, clean_start=True)
        else:
            self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        if not self.connected.wait(TIMEOUT):
            fail(f"{self.client._client_id!r}: no CONNACK")
        if self.connack != 0:
            fail(f"CONNACK refused: {self.connack}")

    def subscribe(self, filter_, qos):
        self.subscribed.clear()
        self.client.subscribe(filter_, qos)
        if not self.subscribed.wait(TIMEOUT):
            fail(f"no SUBACK for {filter_}")
        return self.granted

    def wait_messages(self, count):
        with self.message_arrived:
            if not self.message_arrived.wait_for(lambda: len(self.messages) >= count, TIMEOUT):
                fail(f"expected {count} messages, got {self.messages}")
        return self.messages

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


sub = Client("sub")
pub = Client("pub")
sub.connect()
pub.connect()
granted = sub.subscribe(f"{topic}/#", 2)

for qos in (0, 1, 2):
    info = pub.client.publish(f"{topic}/q{qos}", f"paho qos {qos}", qos=qos)
    info.wait_for_publish(TIMEOUT)
    if not info.is_published():
        fail(f"publish at QoS {qos} not completed")

expected = 3
if protocol == mqtt.MQTTv5:
    props = Properties(PacketTypes.PUBLISH)
    props.UserProperty = ("origin", "paho")
    props.ContentType = "text/plain"
    props.CorrelationData = b"corr-1"
    info = pub.client.publish(f"{topic}/props", "with properties", qos=1, properties=props)
    info.wait_for_publish(TIMEOUT)
    expected += 1
received = sub.wait_messages(expected)

info = pub.client.publish(f"{topic}/retained", "kept", qos=1, retain=True)
info.wait_for_publish(TIMEOUT)
late = Client("late")
late.connect()
late.subscribe(f"{topic}/retained", 1)
retained = late.wait_messages(1)

for c in (sub, pub, late):
    c.close()
print(json.dumps({"granted": granted, "received": received[:expected], "retained": retained[0]}))
