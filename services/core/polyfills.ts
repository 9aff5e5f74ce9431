/**
 * Polyfills for what libp2p expects of the runtime and Node 20 lacks. Imported for its side
 * effect, first, by every entry point (the CLI, the test setup) and by the p2p host itself.
 */

// The tsconfig targets ES2023 (Node 20); these are ES2024's declarations.
declare global {
  interface PromiseWithResolvers<T> {
    promise: Promise<T>;
    resolve: (value: T | PromiseLike<T>) => void;
    reject: (reason?: unknown) => void;
  }
  interface PromiseConstructor {
    withResolvers<T>(): PromiseWithResolvers<T>;
  }
}

// Node 22 has Promise.withResolvers; libp2p 3 calls it on every stream and dial.
if (typeof Promise.withResolvers !== "function") {
  Promise.withResolvers = function withResolvers<T>(): PromiseWithResolvers<T> {
    let resolve!: (value: T | PromiseLike<T>) => void;
    let reject!: (reason?: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

export {};
