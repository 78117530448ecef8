import { promisify } from 'node:util';

/**
 * aws-local-stepfunctions 3 calls `Promise.withResolvers` (ES2024, Node 22) in every Task state; the project
 * still supports Node 20, so the local cloud installs the standard behaviour when it is missing.
 */
interface PromiseWithResolversShape {
  withResolvers?: () => {
    promise: Promise<unknown>;
    resolve: (v: unknown) => void;
    reject: (e: unknown) => void;
  };
}

const promiseCtor = Promise as unknown as PromiseWithResolversShape;

if (typeof promiseCtor.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>() {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

/**
 * Node's setTimeout fires a delay above 2^31 - 1 ms (24.8 days) after 1 ms, with a
 * TimeoutOverflowWarning; Step Functions waits far longer (a 180-day TimeoutSeconds, a 365-day
 * execution). aws-local-stepfunctions and the token registry arm such timers, so in the local cloud a
 * longer delay is kept as a chain of shorter timers that fires when the whole delay has passed. Shorter
 * delays go to Node's own setTimeout unchanged.
 */
const MAX_TIMER_MS = 2 ** 31 - 1;
const nativeSetTimeout = globalThis.setTimeout;
const nativeClearTimeout = globalThis.clearTimeout;

class LongTimeout {
  private current: NodeJS.Timeout;
  private referenced = true;

  constructor(
    private readonly callback: (...args: unknown[]) => void,
    private readonly args: unknown[],
    private readonly due: number,
  ) {
    this.current = this.arm();
  }

  private arm(): NodeJS.Timeout {
    const left = this.due - performance.now();
    const timer =
      left <= MAX_TIMER_MS
        ? nativeSetTimeout(() => this.callback(...this.args), Math.max(0, left))
        : nativeSetTimeout(() => {
            this.current = this.arm();
          }, MAX_TIMER_MS);
    if (!this.referenced) timer.unref();
    return timer;
  }

  clear(): void {
    nativeClearTimeout(this.current);
  }
  unref(): this {
    this.referenced = false;
    this.current.unref();
    return this;
  }
  ref(): this {
    this.referenced = true;
    this.current.ref();
    return this;
  }
  hasRef(): boolean {
    return this.referenced;
  }
}

if (!(globalThis as { __civicLongTimers?: boolean }).__civicLongTimers) {
  (globalThis as { __civicLongTimers?: boolean }).__civicLongTimers = true;
  const longSetTimeout = (callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) =>
    typeof ms === 'number' && ms > MAX_TIMER_MS
      ? new LongTimeout(callback, args, performance.now() + ms)
      : nativeSetTimeout(callback, ms, ...args);
  Object.assign(longSetTimeout, nativeSetTimeout, {
    [promisify.custom]: (nativeSetTimeout as unknown as Record<symbol, unknown>)[promisify.custom],
  });
  globalThis.setTimeout = longSetTimeout as unknown as typeof setTimeout;
  globalThis.clearTimeout = ((timer?: unknown) =>
    timer instanceof LongTimeout
      ? timer.clear()
      : nativeClearTimeout(timer as NodeJS.Timeout)) as typeof clearTimeout;
}
