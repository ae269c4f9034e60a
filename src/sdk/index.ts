/**
 * `ferry-mqtt/sdk`: helpers for device and backend developers (docs/device-guide.md,
 * docs/backend-guide.md). Device side on mqtt.js; backend side over Ferry's HTTP APIs. Nothing
 * here starts or imports the server.
 */
export { FerryApiError, FerryInputError, FerryRpcError, TokenRefreshError } from './errors.js';
export { CLIENT_ID_SEPARATOR, checkClientId, checkGroup, clientId, p2pTargetOf, p2pTopic, parseClientId, type ClientIdParts } from './client-id.js';
export { credentials, tokenPassword, type DeviceAuth, type MqttCredentials, type TokenGrant } from './device/credentials.js';
export { connectDevice, deviceMqttOptions, type Device, type DeviceOptions } from './device/connect.js';
export { sendP2P } from './device/p2p.js';
export { TokenRefresher, type FreshToken, type RefreshReason, type TokenRefreshOptions, type TokenRefresherEvents } from './device/token-refresher.js';
export {
  EXPIRE_NOTICE_LEAD_MS,
  TOKEN_CODE,
  TOKEN_EXPIRE_NOTICE_TOPIC,
  TOKEN_INVALID_NOTICE_TOPIC,
  TOKEN_UPLOAD_TOPIC,
  type TokenCode,
  type TokenType,
} from '../auth/token-wire.js';
export { systemClock, type Clock } from '../auth/clock.js';
export {
  RestClient,
  type AppliedToken,
  type CallOptions,
  type ClientDetail,
  type ClientView,
  type DeadLetter,
  type DeviceCredential,
  type MethodOf,
  type Page,
  type QueueInfo,
  type ReceivedMessage,
  type RequestTransport,
  type RestAuth,
  type RestClientOptions,
  type Route,
  type Rule,
  type RuleStats,
} from './backend/rest-client.js';
export type { paths as RestPaths } from './backend/openapi-types.js';
export { RpcClient, RPC_VERSION, flattenParams, type RpcAnswer, type RpcClientOptions, type RpcValue } from './backend/rpc-client.js';
export { QueueConsumer, type QueueConsumerOptions, type QueueMessage } from './backend/queue-consumer.js';
export { StatusTracker, parseStatusEvent, type StatusEvent, type StatusEventType, type StatusTrackerEvents } from './backend/status-tracker.js';
