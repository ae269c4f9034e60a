/**
 * Child of handle-stream.test.ts: a Node without `process.binding` (removed before Ferry's transport
 * loads), so plain TCP listeners must fall back to net.Socket. Starts two 'tcp' listeners that echo,
 * logs JSON to stdout, sends their ports to the parent; on 'report' sends the streams' class names and exits.
 * Not a test itself: without the IPC channel of its parent (the test runner loads every file under
 * dist/test) it does nothing.
 */
import type { ByteStream } from '../../../src/transport/types.js';

if (process.send !== undefined) {
  delete (process as unknown as { binding?: unknown }).binding;

  const { startListeners } = await import('../../../src/transport/listeners.js');
  const { createLogger } = await import('../../../src/observability/logger.js');

  const kinds: string[] = [];
  const sink = {
    accept(stream: ByteStream): void {
      kinds.push(stream.constructor.name);
      stream.attach({
        onData: (chunk) => void stream.write(chunk),
        onDrain: () => {},
        onClose: () => {},
      });
    },
  };
  const logger = createLogger({ level: 'info' });
  const group = await startListeners(
    [
      { name: 'a', kind: 'tcp', host: '127.0.0.1', port: 0 },
      { name: 'b', kind: 'tcp', host: '127.0.0.1', port: 0 },
    ],
    sink,
    logger,
  );
  process.send?.([group.ports['a'], group.ports['b']]);
  process.on('message', () => {
    process.send?.(kinds, () => {
      group.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  });
}
