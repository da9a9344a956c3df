/**
 * `make()`, made on first use. Schemas built at module scope are paid for by every cold start
 * (every Worker isolate), the requests that never use them included: build them in `once`.
 */
export function once<T>(make: () => T): () => T {
  let made: T | undefined;
  return () => (made ??= make());
}
