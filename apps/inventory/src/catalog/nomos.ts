import { defineNomos, integer, text } from "@noema/core";

/** The law of the product catalog: every product that was ever stocked, once. */
export const catalogNomos = defineNomos({
  name: "catalog",
  version: 1,
  tables: {
    products: {
      columns: {
        product_id: text().primaryKey(),
        first_stocked_at: integer().notNull(),
      },
    },
  },
});
