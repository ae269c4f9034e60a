import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ConnectorUrlError,
  InboundMessageError,
  createConnectorRegistry,
  messageProperties,
  natsSubject,
  parseInbound,
  redactText,
  redactUrl,
  splitTopic,
  webhookSignature,
} from '../../../src/rules/connectors/index.js';
import { fullMessage, plainMessage } from '../../helpers/connector-fixtures.js';

const registry = createConnectorRegistry();

function urlError(fn: () => unknown, pattern: RegExp, part?: string): ConnectorUrlError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConnectorUrlError, `expected a ConnectorUrlError, got ${String(caught)}`);
  assert.match(caught.message, pattern);
  assert.equal(caught.code, 'InvalidParameter');
  if (part !== undefined) assert.equal(caught.part, part);
  return caught;
}

describe('connector URLs', () => {
  it('connector URLs - the issue\'s example URLs are valid', () => {
    registry.checkTarget('redis://127.0.0.1:6379/0?stream=sensors');
    registry.checkTarget('amqp://guest:guest@127.0.0.1:5672/?exchange=status');
    registry.checkSource('redis://127.0.0.1:6379/0?stream=cmds&group=ferry');
    registry.checkTarget('nats://127.0.0.1:4222?subject=ferry.out');
    registry.checkSource('nats://tok@127.0.0.1?stream=CMDS&consumer=ferry');
    registry.checkSource('amqp://127.0.0.1/vhost?queue=cmds&heartbeat=10');
    registry.checkTarget('amqp://127.0.0.1?exchange=');
    registry.checkTarget('https://hooks.example.com/ferry?anything=goes');
    assert.deepEqual(registry.schemes(), ['amqp', 'http', 'https', 'nats', 'redis']);
  });

  it('connector URLs - an unknown scheme names the supported ones; queue:// is reserved; http cannot be a source', () => {
    urlError(() => registry.checkTarget('kafka://broker:9092?topic=x'), /unknown scheme "kafka:".*amqp:\/\/, http:\/\/, https:\/\/, nats:\/\/, redis:\/\//, 'scheme');
    urlError(() => registry.checkTarget('queue://orders'), /built-in queue .* not available/, 'scheme');
    urlError(() => registry.checkSource('https://example.com/x'), /"https:\/\/" cannot be a rule source \(sources: amqp:\/\/, nats:\/\/, redis:\/\/\)/, 'scheme');
  });

  it('connector URLs - missing, misspelt, repeated and out-of-range parameters are errors naming the parameter', () => {
    urlError(() => registry.checkTarget(''), /empty/, 'url');
    urlError(() => registry.checkTarget('not a url'), /not a valid URL/, 'url');
    urlError(() => registry.checkTarget('redis://127.0.0.1'), /needs the parameter "stream"/, 'stream');
    urlError(() => registry.checkTarget('redis://127.0.0.1?stram=x'), /needs the parameter "stream"/, 'stream');
    urlError(() => registry.checkTarget('redis://127.0.0.1?stream=s&stram=x'), /unknown parameter "stram" \(known: maxlen, stream\)/, 'stram');
    urlError(() => registry.checkTarget('redis://127.0.0.1?stream=s&stream=t'), /more than once/, 'stream');
    urlError(() => registry.checkTarget('redis://127.0.0.1?stream=s&maxlen=0'), /"maxlen" must be an integer from 1/, 'maxlen');
    urlError(() => registry.checkTarget('redis://127.0.0.1?stream=s&maxlen=ten'), /"maxlen" must be an integer/, 'maxlen');
    urlError(() => registry.checkTarget('redis://127.0.0.1/zero?stream=s'), /database number/, 'path');
    urlError(() => registry.checkSource('redis://127.0.0.1?stream=s'), /needs the parameter "group"/, 'group');
    urlError(() => registry.checkTarget('amqp://127.0.0.1'), /needs the parameter "exchange"/, 'exchange');
    urlError(() => registry.checkSource('amqp://127.0.0.1?queue='), /needs the parameter "queue"/, 'queue');
    urlError(() => registry.checkTarget('amqp://127.0.0.1?exchange=x&routing_key=y'), /unknown parameter "routing_key"/, 'routing_key');
    urlError(() => registry.checkTarget('nats://127.0.0.1?subject=a.*'), /subject prefix/, 'subject');
    urlError(() => registry.checkTarget('nats://127.0.0.1?subject=a..b'), /subject prefix/, 'subject');
    urlError(() => registry.checkSource('nats://127.0.0.1?stream=A.B&consumer=c'), /JetStream name/, 'stream');
    urlError(() => registry.checkSource('nats://127.0.0.1?stream=A'), /needs the parameter "consumer"/, 'consumer');
  });

  it('connector URLs - errors never show the password or a secret query value', () => {
    const err = urlError(() => registry.checkTarget('amqp://admin:Sup3rSecret@mq.example:5672/?exchange=x&bogus=1'), /unknown parameter "bogus"/);
    assert.equal(err.message.includes('Sup3rSecret'), false, err.message);
    assert.match(err.message, /amqp:\/\/admin:\*\*\*@mq\.example:5672/);
    const bad = urlError(() => registry.checkTarget('amqp://admin:Sup3r Secret@[bad'), /not a valid URL/);
    assert.equal(bad.message.includes('Sup3r'), false, bad.message);
  });

  it('connector URLs - redactUrl masks passwords and secret-looking query values; redactText masks them in free text', () => {
    assert.equal(redactUrl('redis://user:pw@h:6379/0?stream=s'), 'redis://user:***@h:6379/0?stream=s');
    assert.equal(redactUrl('nats://h?subject=a&token=abc'), 'nats://h?subject=a&token=***');
    assert.equal(redactUrl('https://h/x?api_key=k1&secret=s2&q=1'), 'https://h/x?api_key=***&secret=***&q=1');
    assert.equal(redactUrl('amqp://h'), 'amqp://h');
    const url = new URL('amqp://u:p%40ss@h?token=t0k3n');
    assert.equal(redactText('connect to amqp://u:p@ss@h failed (p%40ss, t0k3n)', url), 'connect to amqp://u:***@h failed (***, ***)');
    // A connector's shown URL is redacted too.
    const target = registry.createTarget('redis://u:hunter2@127.0.0.1:1/0?stream=s');
    assert.equal(target.url, 'redis://u:***@127.0.0.1:1/0?stream=s');
  });
});

describe('connector properties', () => {
  it('connector properties - an outbound message carries the reference keys as strings, MQTT 5 ones only when set', () => {
    assert.deepEqual(splitTopic('a/b/c'), { parent: 'a', second: '/b/c' });
    assert.deepEqual(splitTopic('a'), { parent: 'a', second: '' });
    assert.deepEqual(messageProperties(fullMessage(7)), {
      clientId: 'GID_car@@@dev1',
      topic: 'sensors/room7/temp',
      mqttParentTopic: 'sensors',
      mqttSecondTopic: '/room7/temp',
      qoslevel: '1',
      cleansessionflag: 'false',
      bornTime: '1765000000007',
      msgId: '0a0b0c0d0e0f00000000000000000007',
      mqtt5UserProperty: '[{"key":"unit","value":"celsius"},{"key":"unit","value":"second value, same key"}]',
      mqtt5ContentType: 'application/octet-stream',
      mqtt5MsgExpireInterval: '3600',
    });
    assert.deepEqual(Object.keys(messageProperties(plainMessage(1))), [
      'clientId', 'topic', 'mqttParentTopic', 'mqttSecondTopic', 'qoslevel', 'cleansessionflag', 'bornTime', 'msgId',
    ]);
  });

  it('connector properties - NATS subjects: levels become tokens, invalid token characters become _', () => {
    assert.equal(natsSubject('ferry.out', 'sensors/a/b'), 'ferry.out.sensors.a.b');
    assert.equal(natsSubject('p', '/a//b/'), 'p._.a._.b._');
    assert.equal(natsSubject('p', 'a.b/c d/e*f>'), 'p.a_b.c_d.e_f_');
  });

  it('connector properties - webhook signature is HMAC-SHA256 over "<timestamp>.<body>"', () => {
    // Fixed vector, computed independently: printf '1700000000000.{"a":1}' | openssl dgst -sha256 -hmac s3cret
    const expected = 'sha256=8a6f992378d0d47b6fcdf1cc8d72e46ba5c789b2c9d3a538be31fe07d598ba6d';
    assert.equal(webhookSignature('s3cret', '1700000000000', '{"a":1}'), expected);
    assert.equal(webhookSignature('s3cret', '1700000000000', Buffer.from('{"a":1}')), expected);
  });
});

describe('inbound parsing', () => {
  const parse = (props: Record<string, string>, parent = 'cmd') => parseInbound(props, Buffer.from('x'), parent);

  function inboundError(props: Record<string, string>, code: string, property: string): void {
    assert.throws(() => parse(props), (err: unknown) => {
      assert.ok(err instanceof InboundMessageError, String(err));
      assert.equal(err.code, code);
      assert.equal(err.property, property);
      return true;
    });
  }

  it('inbound parsing - topic under the parent topic, defaults qos 1 and clean session true', () => {
    assert.deepEqual(parse({}), { topic: 'cmd', qos: 1, cleanSession: true, payload: Buffer.from('x') });
    assert.equal(parse({ mqttSecondTopic: '/a/b' }).topic, 'cmd/a/b');
    assert.equal(parse({ mqttSecondTopic: 'a/b' }).topic, 'cmd/a/b', 'a missing leading slash is added');
    assert.equal(parse({ mqttSecondTopic: '/a/b', mqttRealTopic: '/ignored' }).topic, 'cmd/a/b', 'mqttRealTopic is for P2P');
    assert.equal(parse({ qoslevel: '0' }).qos, 0);
    assert.equal(parse({ qoslevel: '2', cleansessionflag: 'FALSE' }).cleanSession, false);
  });

  it('inbound parsing - P2P: /p2p/<clientId>, the receiver sees mqttRealTopic or <parent>/p2p/<clientId>', () => {
    const p2p = parse({ mqttSecondTopic: '/p2p/GID_a@@@1' });
    assert.equal(p2p.p2pClientId, 'GID_a@@@1');
    assert.equal(p2p.topic, 'cmd/p2p/GID_a@@@1');
    const real = parse({ mqttSecondTopic: '/p2p/GID_a@@@1', mqttRealTopic: '/inbox/x' });
    assert.equal(real.topic, 'cmd/inbox/x');
    assert.equal(real.p2pClientId, 'GID_a@@@1');
  });

  it('inbound parsing - MQTT 5 properties', () => {
    const m = parse({ mqtt5UserProperty: '[{"key":"a","value":"1"},{"key":"a","value":"2"}]', mqtt5ContentType: 'json', mqtt5MsgExpireInterval: '0' });
    assert.deepEqual(m.userProperties, [{ key: 'a', value: '1' }, { key: 'a', value: '2' }]);
    assert.equal(m.contentType, 'json');
    assert.equal(m.messageExpiryInterval, 0);
  });

  it('inbound parsing - malformed messages throw a typed error naming the property', () => {
    inboundError({ qoslevel: '3' }, 'InvalidQos', 'qoslevel');
    inboundError({ qoslevel: 'one' }, 'InvalidQos', 'qoslevel');
    inboundError({ cleansessionflag: 'yes' }, 'InvalidCleanSession', 'cleansessionflag');
    inboundError({ mqttSecondTopic: '/a/#' }, 'InvalidTopic', 'mqttSecondTopic');
    inboundError({ mqttSecondTopic: '/p2p/' }, 'InvalidTopic', 'mqttSecondTopic');
    inboundError({ mqttSecondTopic: '/p2p/a/b' }, 'InvalidTopic', 'mqttSecondTopic');
    inboundError({ mqttSecondTopic: '/p2p/c', mqttRealTopic: '/+' }, 'InvalidTopic', 'mqttRealTopic');
    inboundError({ mqttSecondTopic: '/a\u0000' }, 'InvalidTopic', 'mqttSecondTopic');
    inboundError({ mqtt5UserProperty: 'not json' }, 'InvalidUserProperty', 'mqtt5UserProperty');
    inboundError({ mqtt5UserProperty: '{"key":"a","value":"b"}' }, 'InvalidUserProperty', 'mqtt5UserProperty');
    inboundError({ mqtt5UserProperty: '[{"key":"a","value":1}]' }, 'InvalidUserProperty', 'mqtt5UserProperty');
    inboundError({ mqtt5UserProperty: JSON.stringify([{ key: 'k', value: 'v'.repeat(9000) }]) }, 'InvalidUserProperty', 'mqtt5UserProperty');
    inboundError({ mqtt5MsgExpireInterval: '-1' }, 'InvalidExpiryInterval', 'mqtt5MsgExpireInterval');
    inboundError({ mqtt5MsgExpireInterval: '4294967296' }, 'InvalidExpiryInterval', 'mqtt5MsgExpireInterval');
    assert.throws(() => parseInbound({}, Buffer.alloc(0), ''), /empty/);
  });
});
