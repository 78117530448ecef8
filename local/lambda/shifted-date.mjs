// The local cloud's clock inside a Lambda execution environment (a worker thread): `Date` reads real
// time plus the offset the main thread keeps in a SharedArrayBuffer (local/clock.ts), so handlers that
// call `new Date()` or `Date.now()` as usual see the cloud's time without knowing they run locally.
// Plain JavaScript: the worker runs without a TypeScript loader.

/**
 * Replaces `globalThis.Date` by a Proxy of the real Date whose `new Date()`, `Date.now()` and `Date()`
 * (a call, giving a string) read the shifted time. Everything else is the real Date: `new Date(x)` with
 * arguments, `Date.UTC`, `Date.parse`, `Date.prototype` and its methods, `instanceof Date`, subclasses.
 * `Date.prototype.constructor` is the Proxy, so that `new Date().constructor === Date` still holds.
 * Must run before the handler's module is imported. Returns the real `Date.now`, for real deadlines.
 *
 * @param {SharedArrayBuffer} buffer the clock's buffer: one BigInt64, the offset in milliseconds
 * @returns {() => number}
 */
export const shiftDate = (buffer) => {
  const RealDate = globalThis.Date;
  const realNow = RealDate.now;
  const offset = new BigInt64Array(buffer, 0, 1);
  const now = { now: () => realNow() + Number(Atomics.load(offset, 0)) }.now;
  const ShiftedDate = new Proxy(RealDate, {
    construct: (target, args, newTarget) =>
      Reflect.construct(target, args.length === 0 ? [now()] : args, newTarget),
    // Date() called as a function ignores its arguments and renders the current time.
    apply: () => new RealDate(now()).toString(),
  });
  // Node's own code holds its primordial copies of Date; only the handler's realm sees these changes.
  Object.defineProperty(RealDate, 'now', {
    ...Object.getOwnPropertyDescriptor(RealDate, 'now'),
    value: now,
  });
  Object.defineProperty(RealDate.prototype, 'constructor', {
    ...Object.getOwnPropertyDescriptor(RealDate.prototype, 'constructor'),
    value: ShiftedDate,
  });
  globalThis.Date = ShiftedDate;
  return realNow;
};
