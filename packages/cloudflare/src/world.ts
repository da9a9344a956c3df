import type { Intent, Seal } from "@noema/core";
import type { Attractor } from "./attractor.js";

/**
 * An Attractor's public methods as seen over RPC. Everything Noema returns is plain
 * data, so the result types survive the structured clone unchanged; this avoids the
 * deep mapped types of `DurableObjectStub` on recursive JSON types.
 */
export type AttractorRpc<A> = {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- matches any method signature
  [K in keyof A as A[K] extends (...args: any[]) => unknown ? K : never]: A[K] extends (...args: infer P) => infer R
    ? (...args: P) => Promise<Awaited<R>>
    : never;
};

/**
 * Where an Intent lands: a Durable Object namespace plus a name. The name goes
 * through `idFromName`, so the same name always reaches the same Attractor.
 */
export class WorldRef<A extends Attractor> {
  readonly rpc: AttractorRpc<A>;
  constructor(
    readonly namespace: DurableObjectNamespace<A>,
    readonly name: string,
  ) {
    this.rpc = namespace.get(namespace.idFromName(name)) as unknown as AttractorRpc<A>;
  }

  /** Sends the Intent over RPC and returns its Seal. */
  sediment(intent: Intent): Promise<Seal> {
    return (this.rpc as AttractorRpc<Attractor>).sedimentation(intent);
  }
}

export function world<A extends Attractor>(namespace: DurableObjectNamespace<A>, name: string): WorldRef<A> {
  return new WorldRef(namespace, name);
}
