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

export {};
