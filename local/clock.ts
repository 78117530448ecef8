/** What happened when the clock moved: how far, and where the offset stands now. */
export interface ClockAdvance {
  advancedByMs: number;
  offsetMs: number;
}

/**
 * The local cloud's clock: real time plus an offset that tests (and `POST /clock` on the control plane)
 * move forward, so that a notice period or a one-time schedule days ahead can be reached in a test.
 * The offset (whole milliseconds, ≥ 0, never decreasing) lives in a SharedArrayBuffer, read with
 * Atomics: the Lambda execution environments (worker threads) see every advance at once, with no message.
 * Only the cloud's notion of "now" moves; timers, deadlines and token expiry stay on real time.
 */
export class LocalClock {
  /** One BigInt64 slot: the offset in milliseconds. Hand it to workers (`workerData`) to share it. */
  readonly buffer: SharedArrayBuffer;
  private readonly offset: BigInt64Array;
  private readonly listeners = new Set<(advance: ClockAdvance) => void>();

  /** A new clock at offset 0, or a view of an existing clock's buffer. */
  constructor(buffer?: SharedArrayBuffer) {
    this.buffer = buffer ?? new SharedArrayBuffer(BigInt64Array.BYTES_PER_ELEMENT);
    this.offset = new BigInt64Array(this.buffer, 0, 1);
  }

  /** How far ahead of real time the clock is, in milliseconds. */
  get offsetMs(): number {
    return Number(Atomics.load(this.offset, 0));
  }

  /** Epoch milliseconds on this clock: `Date.now()` plus the offset. */
  now(): number {
    return Date.now() + this.offsetMs;
  }

  /**
   * Moves the clock `ms` milliseconds forward (a whole number ≥ 0; a RangeError otherwise) and tells
   * every listener, synchronously. Returns the new offset.
   */
  advance(ms: number): number {
    if (!Number.isSafeInteger(ms) || ms < 0)
      throw new RangeError(`The clock moves forward by a whole number of milliseconds ≥ 0, not ${ms}`);
    if (!Number.isSafeInteger(this.offsetMs + ms))
      throw new RangeError(`Advancing by ${ms} ms takes the clock out of range`);
    if (ms === 0) return this.offsetMs;
    const offsetMs = Number(Atomics.add(this.offset, 0, BigInt(ms))) + ms;
    for (const listener of [...this.listeners]) listener({ advancedByMs: ms, offsetMs });
    return offsetMs;
  }

  /** Calls `listener` after every advance; returns the function that unsubscribes it. */
  onAdvance(listener: (advance: ClockAdvance) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }
}

/** What the scheduler needs of a clock (the real clock when there is none). */
export type CloudClock = Pick<LocalClock, 'now' | 'onAdvance'>;
