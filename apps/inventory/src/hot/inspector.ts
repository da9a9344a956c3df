import { SHARD_SEPARATOR, shardName } from "@noema/cloudflare/escrow";
import type { Overview, OverviewContext } from "@noema/inspector";
import type { Env } from "../env.js";
import { HOT_BINDING } from "./attractor.js";

/**
 * What a hot World's inspector page shows first. The coordinator: the product summed over its
 * Worlds (total, unassigned, in flight, sold out, how fresh the read is) and a row per shard with
 * its share, each linked to the shard's own page. A shard: its share and a link to its product.
 */
export async function hotOverview(env: Env, name: string, { link }: OverviewContext): Promise<Overview | undefined> {
  const at = name.indexOf(SHARD_SEPARATOR);
  if (at >= 0) {
    const product = name.slice(0, at);
    const { available, held, sold, nomosVersion } = await env.HOT_ATTRACTOR.getByName(name).share();
    return {
      title: `Shard ${name.slice(at + 1)} of a hot product`,
      facts: [
        { label: "product", value: { text: product, href: link(HOT_BINDING, product) } },
        { label: "available", value: available },
        { label: "held", value: held },
        { label: "sold", value: sold },
        { label: "law", value: `v${nomosVersion}` },
      ],
    };
  }
  const p = await env.HOT_ATTRACTOR.getByName(name).read();
  if (p.shards.length === 0 && p.total === 0) return undefined;
  return {
    title: "Hot product",
    facts: [
      { label: "total", value: p.total },
      { label: "unassigned", value: p.unassigned },
      { label: "in flight", value: p.inFlight },
      { label: "available", value: p.available },
      { label: "held", value: p.held },
      { label: "sold", value: p.sold },
      { label: "sold out", value: p.soldOut ? "yes" : "no" },
      { label: "undeliverable moves", value: p.undeliverable.length },
      { label: "read over", value: `${p.freshness.spreadMs} ms` },
    ],
    table: {
      caption: `${p.shards.filter((s) => s.active).length} active shard(s) of ${p.shards.length}`,
      columns: ["shard", "active", "granted", "available", "held", "sold", "law", "log head"],
      rows: p.shards.map((s) => [
        { text: shardName(p.product, s.shard), href: link(HOT_BINDING, s.world) },
        s.active ? "yes" : "no",
        s.granted,
        s.available,
        s.held,
        s.sold,
        `v${s.nomosVersion}`,
        { text: s.sedimentId, href: link(HOT_BINDING, s.world, s.sedimentId) },
      ]),
    },
  };
}
