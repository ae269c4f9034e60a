/** SendMessage (both versions), BatchSendMessages (2019-12-11). */
import { FacadeError, describeError } from '../../../management/errors.js';
import { BOTH, V2019, type RpcAction } from '../action.js';
import { RpcError } from '../errors.js';
import { invalidParam, type RpcParams } from '../params.js';

/**
 * The payload is delivered as the UTF-8 bytes of the Payload string, unchanged (the managed
 * service advises callers to Base64-encode binary data themselves; docs/api.md). QoS 1, not
 * retained: our choice where the reference is silent (reference §4.2 notes).
 */
function send(ctx: Parameters<RpcAction['handle']>[0], instanceId: string, topic: string, payload: string): string {
  return ctx.management.publishNoWait(instanceId, { topic, payload: Buffer.from(payload, 'utf8'), qos: 1 }, { topic: 'MqttTopic', payload: 'Payload' });
}

const MAX_BATCH = 100;

export const messageActions: RpcAction[] = [
  {
    name: 'SendMessage',
    versions: BOTH,
    ram: 'mq:PUB',
    resource: (p) => ({ type: 'topic', instanceId: p.required('InstanceId'), topic: p.required('MqttTopic') }),
    async handle(ctx, p) {
      const payload = p.raw.get('Payload');
      if (payload === undefined) throw RpcError.of('MissingParameter', 'Payload');
      const MsgId = send(ctx, p.required('InstanceId'), p.required('MqttTopic'), payload);
      // The MsgId is answered once the message is durable for its persistent subscribers.
      await ctx.management.durable();
      return { MsgId };
    },
  },
  {
    name: 'BatchSendMessages',
    versions: V2019,
    ram: 'mq:PUB',
    resource: (p) => ({ type: 'instance', instanceId: p.required('InstanceId') }),
    async handle(ctx, p: RpcParams) {
      const instanceId = p.required('InstanceId');
      ctx.management.requireInstance(instanceId);
      const messages = p.objects('Messages');
      if (messages.length === 0) throw RpcError.of('MissingParameter', 'Messages');
      if (messages.length > MAX_BATCH) throw invalidParam('Messages', `at most ${MAX_BATCH} messages per call`);
      const policy = ctx.management.policyOf(ctx.accessKeyId);
      const Responses = messages.map((m, i) => {
        const idText = typeof m['Id'] === 'string' ? m['Id'] : String(i + 1);
        const Id = /^-?\d+$/.test(idText) ? Number(idText) : i + 1;
        const topics = Array.isArray(m['Topics']) ? m['Topics'] : typeof m['Topics'] === 'string' ? [m['Topics']] : [];
        const payload = typeof m['Payload'] === 'string' ? m['Payload'] : undefined;
        const receipt = typeof m['ReceiptId'] === 'string' ? { ReceiptId: m['ReceiptId'] } : {};
        if (payload === undefined || topics.length === 0) {
          return { Id, MsgId: '', ErrorCode: 'MissingParameter', ErrorMessage: 'each message needs Payload and Topics', ...receipt };
        }
        let MsgId = '';
        try {
          for (const topic of topics) {
            if (policy === undefined || !policy.allows('mq:PUB', { type: 'topic', instanceId, topic })) {
              throw new FacadeError('PermissionCheckFailed', `not allowed mq:PUB on ${topic}`, 'Topics');
            }
          }
          // The first topic's MsgId stands for the message.
          for (const topic of topics) {
            const id = send(ctx, instanceId, topic, payload);
            if (MsgId === '') MsgId = id;
          }
          return { Id, MsgId, ErrorCode: '', ErrorMessage: '', ...receipt };
        } catch (err) {
          const e = describeError(err);
          if (e.internal) throw err;
          return { Id, MsgId: '', ErrorCode: e.code, ErrorMessage: e.message, ...receipt };
        }
      });
      await ctx.management.durable();
      return { Responses };
    },
  },
];
