// First: what `noema build` derived from these laws' SQL, so that the Worker needs no SQL parser.
import "./vocabulary.footprints.js";
import { buildIntent, defineVocabulary, operation, sql } from "@noema/core";
import * as z from "zod";
import { Id } from "../vocabulary.js";
import { catalogNomos } from "./nomos.js";

export const catalog = defineVocabulary(catalogNomos, {
  addProduct: operation({
    description: "Lists a product in the catalog when it is first stocked; listing it twice is refused.",
    args: z.object({ productId: Id, firstStockedAt: z.number().int().min(0) }),
    output: z.object({ productId: z.string() }),
    statements: (t) => ({
      insert: sql`INSERT INTO products (product_id, first_stocked_at) VALUES (${t.arg.productId}, ${t.arg.firstStockedAt})`,
    }),
    result: (_rows, args) => ({ productId: args.productId }),
  }),
});

export type CatalogVocabulary = typeof catalog;

/** The one catalog Attractor, by name: a small table, read in pages. */
export const CATALOG_NAME = "catalog";

/** The `$send` target of a product's first stocking. */
export const CATALOG_TARGET = { attractor: "CATALOG_ATTRACTOR", name: CATALOG_NAME } as const;

/**
 * What a stocking Intent sends the catalog: the product, under a key naming it, so only the
 * first stocking of a product sends anything (a key already used sends nothing) and the
 * catalog applies it once, however often it is delivered.
 */
export function firstStocking(productId: string, at: number) {
  return { to: CATALOG_TARGET, key: `catalog:${productId}`, intent: buildIntent(catalog, (s) => void s.addProduct({ productId, firstStockedAt: at })) };
}
