import { Attractor } from "@noema/cloudflare";
import { columnsOf } from "@noema/core";
import type { Env } from "../env.js";
import { catalogNomos } from "./nomos.js";
import { catalog } from "./vocabulary.js";

export interface CatalogProduct {
  productId: string;
  firstStockedAt: number;
}

const PRODUCT = columnsOf(catalogNomos, "products", "product_id", "first_stocked_at");

/** Every product ever stocked, fed by a message from each product's first stocking. */
export class CatalogAttractor extends Attractor.of(catalog)<Env> {
  /** Products after `after` in productId order; `next` is the cursor of the next page when there is one. */
  products(after: string | undefined, limit: number): { products: CatalogProduct[]; next?: string } {
    const rows = this.query(PRODUCT, "FROM products WHERE product_id > ? ORDER BY product_id LIMIT ?", after ?? "", limit + 1);
    const products = rows.slice(0, limit).map((r) => ({ productId: r.product_id, firstStockedAt: r.first_stocked_at }));
    return rows.length > limit ? { products, next: products[products.length - 1]!.productId } : { products };
  }
}
