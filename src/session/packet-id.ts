/**
 * Packet identifier allocation for server-to-client QoS 1/2 PUBLISHes: 1..65535, skipping ids
 * still in use [MQTT-2.2.1-3]. Ids are handed out cyclically so a just-freed id is not reused at
 * once (helps clients that match late acks).
 */
export class PacketIdAllocator {
  private next = 1;

  /** Returns a free id, or 0 when all 65535 are in use. */
  allocate(inUse: { has(id: number): boolean; readonly size: number }): number {
    if (inUse.size >= 65535) return 0;
    for (;;) {
      const id = this.next;
      this.next = id === 65535 ? 1 : id + 1;
      if (!inUse.has(id)) return id;
    }
  }
}
