// Exports for tests and benchmarks (package.json "./internal"). Keep this a plain list of re-exports.
export * from './config/index.js';
export * from './server.js';
export { createLogger, componentLogger, type LoggerOptions } from './observability/logger.js';
export { createHttpServer, listenHttp, type HttpModule, type HttpServerOptions } from './http/server.js';
export { healthModule, Readiness, type ReadinessState } from './http/health.js';
export { startListeners, type Listener, type ListenerGroup, type ListenerSpec } from './transport/listeners.js';
export { SocketStream } from './transport/tcp.js';
export { tlsServerOptions, type TlsMaterial } from './transport/tls.js';
export { WebSocketStream, WS_HIGH_WATER_MARK, WS_SUBPROTOCOLS, hostName } from './transport/ws.js';
export { failOn, InjectedFault, type FaultHooks, type FaultMatch, type FaultTarget } from './faults/index.js';
export { installProcessFaultHandlers, processFaults, type ProcessFaultPolicy } from './observability/process-faults.js';
