// Test laws are written with any SQL: read it with the parser (the app's own laws carry their footprints).
import "@noema/core/sql";
import { buildIntent, type Intent, type Lineage, type Receipt } from "@noema/core";
import { Attractor } from "@noema/cloudflare";
import { InventoryAttractor } from "../src/attractor.js";
import { catalog } from "../src/catalog/vocabulary.js";
import type { Env } from "../src/env.js";
import { inventoryLaw } from "../src/law.js";
import { OrderAttractor } from "../src/orders/attractor.js";
import { inventory } from "../src/vocabulary.js";
import { HotAttractor } from "../src/hot/attractor.js";
import { curvedEscrowLaw, criticalEscrowLaw } from "./hot-laws.js";
import { capacityLaw, criticalLaw, flakyLaw, graceLaws, noReforgeLaw } from "./laws.js";

export * from "../src/index.js";
export { default } from "../src/index.js";

/**
 * An InventoryAttractor on a lineage only tests run. It is built when the object starts, inside
 * a request, where the clock the grace-period lineages are placed around runs (see laws.ts).
 * Tests start these on v1 and upgrade them with `testWorld` of `@noema/cloudflare/testing`.
 */
function onLaw(law: () => Lineage) {
  return class extends InventoryAttractor {
    protected override lawFor(): Lineage {
      return law();
    }
  };
}

export class CriticalAttractor extends onLaw(() => criticalLaw) {}
export class NoReforgeAttractor extends onLaw(() => noReforgeLaw) {}
export class BeforeGraceAttractor extends onLaw(graceLaws.before) {}
export class DuringGraceAttractor extends onLaw(graceLaws.during) {}
export class AfterGraceAttractor extends onLaw(graceLaws.after) {}
export class RefuseAllAttractor extends onLaw(graceLaws.afterRefuseAll) {}
/** v2 → v3: a migration that stock above capacity makes fail. */
export class CapacityAttractor extends onLaw(() => capacityLaw) {}

/** Runs the shipped law plus `restock`, whose parameters cannot be computed for one location (see laws.ts). */
export class FlakyAttractor extends InventoryAttractor {
  // Another law under the shipped class: its static type names the shipped lineage, which this one replaces.
  static override law = flakyLaw as unknown as typeof InventoryAttractor.law;
}

/** A hot product whose law evolves to a test-only v3 that changes `release`: a frozen v1 release is Curved there. */
export class CurvedHotAttractor extends HotAttractor {
  static override binding = "CURVED_HOT_ATTRACTOR";
  static override law = curvedEscrowLaw;
}

/** A hot product whose law evolves to a test-only v3 that stops older releases (Critical). */
export class CriticalHotAttractor extends HotAttractor {
  static override binding = "CRITICAL_HOT_ATTRACTOR";
  static override law = criticalEscrowLaw;
}

/** A hot product whose moves are given up after one failed delivery; deliveries go through `withFaults`. */
export class FaultyHotAttractor extends HotAttractor {
  static override binding = "FAULTY_HOT_ATTRACTOR";
  static delivery = { attempts: 1 };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, withFaults(env));
  }

  /** The next `times` deliveries to the World `name`, from any sender, fail before they are sent. */
  failDeliveriesTo(name: string, times: number): void {
    faults.set(name, times);
  }
}

/** Keys whose next receipt aborts the sender mid-transaction (set through `abortOnReceipt`). */
const abortOn = new Set<string>();
/** Deliveries still to fail, by target name (set through `failDeliveriesTo`). */
const faults = new Map<string, number>();
/** Deliveries attempted, by target name (read through `deliveriesTo`). */
const attempted = new Map<string, number>();
/** Milliseconds each delivery waits before it is sent, by target name (set through `slowDeliveriesTo`). */
const delays = new Map<string, number>();

/** A fault-injecting wrapper around the real bindings: a delivery to a name with faults left fails before it is sent. */
function withFaults(env: Env): Env {
  return new Proxy(env, {
    get(target, binding, receiver) {
      const real = Reflect.get(target, binding, receiver) as unknown;
      if (typeof binding !== "string" || !binding.endsWith("_ATTRACTOR")) return real;
      const namespace = real as DurableObjectNamespace<InventoryAttractor>;
      return {
        getByName: (name: string) => {
          const stub = namespace.getByName(name);
          const receive = async (message: unknown) => {
            attempted.set(name, (attempted.get(name) ?? 0) + 1);
            const delay = delays.get(name);
            if (delay) await new Promise((r) => setTimeout(r, delay));
            const left = faults.get(name) ?? 0;
            if (left > 0) {
              faults.set(name, left - 1);
              throw new Error("receiver down");
            }
            return stub.receive(message);
          };
          // Every other method of the stub as it is: a hot product's borrows and reads go through here too.
          return new Proxy(stub, {
            get: (target, method) => {
              if (method === "receive") return receive;
              const value = Reflect.get(target, method) as unknown;
              // Called through Reflect: any property of an RPC stub, `bind` included, is a remote method.
              return typeof value === "function" ? (...args: unknown[]) => Reflect.apply(value, target, args) as unknown : value;
            },
          });
        },
      };
    },
  });
}

/**
 * Sends messages for the message tests: its own law is the catalog's (any law would do), it may
 * send to inventory Attractors on the shipped or a critical law, and gives up after 3
 * attempts. Deliveries go through `withFaults`.
 */
export class SenderAttractor extends Attractor<Env, typeof catalog> {
  static law = catalog;
  static sends = { INVENTORY_ATTRACTOR: inventoryLaw, CRITICAL_ATTRACTOR: criticalLaw };
  static delivery = { attempts: 3 };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, withFaults(env));
  }

  /** The next receipt for `key` aborts this object inside the transaction recording it: as if it died there. */
  abortOnReceipt(key: string): void {
    abortOn.add(key);
  }

  /** The next `times` deliveries to Attractors named `name` fail before they are sent. */
  failDeliveriesTo(name: string, times: number): void {
    faults.set(name, times);
  }

  /** Deliveries to Attractors named `name` wait `ms` before they are sent: long enough for a second alarm run to overtake them. */
  slowDeliveriesTo(name: string, ms: number): void {
    delays.set(name, ms);
  }

  /** How many deliveries to Attractors named `name` were attempted. */
  deliveriesTo(name: string): number {
    return attempted.get(name) ?? 0;
  }

  /**
   * Reactions by key, for the tests: `…:then-stock` sends the receiver one more setStock;
   * `…:bad-reaction` returns an Intent its law refuses.
   */
  protected override onReceipt(receipt: Receipt): Intent | undefined {
    if (abortOn.delete(receipt.key)) this.ctx.abort("test: the sender dies before recording the receipt");
    if (receipt.key.endsWith(":then-stock")) {
      const next = buildIntent(inventory, (s) => void s.setStock({ locationId: "after-receipt", quantity: 1 }));
      return buildIntent(catalog, (s) => void s.$send({ to: receipt.to, key: `${receipt.key}:next` }, next));
    }
    if (receipt.key.endsWith(":bad-reaction")) return { v: 1, steps: [{ op: "noSuchOperation", args: {} }] };
    return undefined;
  }
}

/**
 * The real OrderAttractor, its deliveries to the products going through `withFaults`: a product
 * whose deliveries are set to fail is, to the order, a product Durable Object that is down.
 */
export class FaultyOrderAttractor extends OrderAttractor {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, withFaults(env));
  }

  /** The next `times` deliveries to the product `productId`, from any order, fail before they are sent. */
  failDeliveriesTo(productId: string, times: number): void {
    faults.set(productId, times);
  }
}
