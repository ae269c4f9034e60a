"""Paho Python (Debian python3-paho-mqtt, 1.6) topic shapes against Ferry, driven by paho.test.ts.

    /usr/bin/python3 paho-topics.py PORT 311|5

The topics of Eclipse Paho's interoperability test ("TopicA", "TopicA/B", "Topic/C", "TopicA/C",
"/TopicA" and its wildcard filters) and a few more shapes MQTT allows (an empty level, a long first
level, spaces and non-ASCII). A client connects with the will topic "/TopicA" and then drops
its socket without DISCONNECT; a subscriber of "#" must get every publish and the will. Prints
one JSON object (CONNACK codes, SUBACK grants, topics received) and exits 0; a failure or
timeout exits 1 with the reason on stderr.
"""
import json
import socket
import sys
import threading

import paho.mqtt.client as mqtt

TIMEOUT = 5.0
TOPICS = ["TopicA", "TopicA/B", "Topic/C", "TopicA/C", "/TopicA", "/", "a//b", "L" * 200 + "/x", "with space/ü"]
WILDCARDS = ["TopicA/+", "+/C", "/#", "/+", "+/+", "TopicA/#"]
WILL_TOPIC = "/TopicA"


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)


port, version = int(sys.argv[1]), sys.argv[2]
protocol = mqtt.MQTTv5 if version == "5" else mqtt.MQTTv311


class Client:
    def __init__(self, name):
        kwargs = {"client_id": f"paho-topics-{name}-{version}", "protocol": protocol}
        if protocol == mqtt.MQTTv311:
            kwargs["clean_session"] = True
        self.client = mqtt.Client(**kwargs)
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.connack = None
        self.granted = None
        self.messages = []
        self.arrived = threading.Condition()
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
        with self.arrived:
            self.messages.append({"topic": message.topic, "payload": message.payload.decode()})
            self.arrived.notify_all()

    def connect(self):
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        if not self.connected.wait(TIMEOUT):
            fail(f"{self.client._client_id!r}: no CONNACK")
        return self.connack

    def subscribe(self, filters):
        self.subscribed.clear()
        self.client.subscribe([(f, 1) for f in filters])
        if not self.subscribed.wait(TIMEOUT):
            fail(f"no SUBACK for {filters}")
        return self.granted

    def wait_messages(self, count):
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.messages) >= count, TIMEOUT):
                fail(f"expected {count} messages, got {self.messages}")
        return self.messages


sub = Client("sub")
connacks = {"sub": sub.connect()}
granted_all = sub.subscribe(["#"])
wild = Client("wild")
connacks["wild"] = wild.connect()
granted_wildcards = wild.subscribe(WILDCARDS)

will = Client("will")
will.client.will_set(WILL_TOPIC, "client not disconnected", qos=1, retain=False)
connacks["will"] = will.connect()

pub = Client("pub")
connacks["pub"] = pub.connect()
if any(code != 0 for code in connacks.values()):
    print(json.dumps({"connacks": connacks}))
    sys.exit(0)
for topic in TOPICS:
    info = pub.client.publish(topic, f"to {topic}", qos=1)
    info.wait_for_publish(TIMEOUT)
    if not info.is_published():
        fail(f"publish to {topic!r} not acknowledged")
sub.wait_messages(len(TOPICS))

# Drop the will client's connection without DISCONNECT: the broker publishes its will.
will.client.loop_stop()
will.client.socket().shutdown(socket.SHUT_RDWR)
received = sub.wait_messages(len(TOPICS) + 1)

for c in (sub, wild, pub):
    c.client.disconnect()
    c.client.loop_stop()
print(json.dumps({"connacks": connacks, "grantedAll": granted_all, "grantedWildcards": granted_wildcards, "received": received}))
