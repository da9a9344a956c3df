import { Attractor } from "@noema/cloudflare";
import type { Env } from "../env.js";
import { catalog, type CatalogVocabulary } from "./vocabulary.js";

export interface CatalogProduct {
  productId: string;
  firstStockedAt: number;
}

/** Every product ever stocked, fed by a message from each product's first stocking. */
export class CatalogAttractor extends Attractor<Env, CatalogVocabulary> {
  static law = catalog;

  /** Products after `after` in productId order; `next` is the cursor of the next page when there is one. */
  products(after: string | undefined, limit: number): { products: CatalogProduct[]; next?: string } {
    const rows = this.query("SELECT product_id, first_stocked_at FROM products WHERE product_id > ? ORDER BY product_id LIMIT ?", after ?? "", limit + 1);
    const products = rows.slice(0, limit).map((r) => ({ productId: String(r.product_id), firstStockedAt: Number(r.first_stocked_at) }));
    return rows.length > limit ? { products, next: products[products.length - 1]!.productId } : { products };
  }
}
