/** Broker-wide counters; observability reads them, the hot path only increments plain fields. */
export class BrokerCounters {
  connectionsAccepted = 0;
  connected = 0;
  takeovers = 0;
  keepaliveTimeouts = 0;
  stuckDisconnects = 0;
  messagesIn = 0;
  messagesOut = 0;
  publishDenied = 0;
  willsPublished = 0;
  sharedRedispatched = 0;
  droppedQueueFull = 0;
  droppedExpired = 0;
  droppedQos0Offline = 0;
  droppedByLink = 0;
  droppedNoSubscriber = 0;
}
