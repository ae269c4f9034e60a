/**
 * Group commit scheduling shared by the store implementations: the first mutation of a batch
 * schedules one flush (end of the event-loop turn, or `delayMs` later); every `whenDurable()`
 * caller of that batch shares one promise, settled when the flush has made the batch durable.
 */
export class GroupCommit {
  private scheduled = false;
  private timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  private resolve: (() => void) | null = null;
  private reject: ((error: unknown) => void) | null = null;
  private promise: Promise<void> | null = null;
  private readonly run = (): void => this.flushNow();

  constructor(
    private readonly delayMs: number,
    /** Makes everything recorded so far durable; throws on failure. */
    private readonly flush: () => void,
  ) {}

  /** True while a batch is open (mutations recorded, not yet committed). */
  get pending(): boolean {
    return this.scheduled;
  }

  /** Called on every mutation: opens a batch if none is open. */
  touch(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.timer = this.delayMs > 0 ? setTimeout(this.run, this.delayMs) : setImmediate(this.run);
  }

  whenDurable(): Promise<void> {
    if (!this.scheduled) return Promise.resolve();
    if (this.promise === null) {
      this.promise = new Promise<void>((resolve, reject) => {
        this.resolve = resolve;
        this.reject = reject;
      });
    }
    return this.promise;
  }

  /** Ends the open batch now. */
  commitNow(): Promise<void> {
    const promise = this.whenDurable();
    if (this.scheduled) this.flushNow();
    return promise;
  }

  private flushNow(): void {
    if (!this.scheduled) return;
    if (this.timer !== null) {
      if (this.delayMs > 0) clearTimeout(this.timer as NodeJS.Timeout);
      else clearImmediate(this.timer as NodeJS.Immediate);
      this.timer = null;
    }
    this.scheduled = false;
    const resolve = this.resolve;
    const reject = this.reject;
    this.resolve = this.reject = null;
    this.promise = null;
    try {
      this.flush();
    } catch (error) {
      reject?.(error);
      return;
    }
    resolve?.();
  }
}
