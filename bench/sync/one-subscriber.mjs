// One subscriber's writes, as the heap scripts (heap-profile.mjs, heap-growth.mjs) drive a World
// under `wrangler dev`: a WebSocket subscribed to one side's World, and writes each awaited until
// its update frame reached it.
import { BENCH_HELLO } from "./measure.mjs";

/** One subscriber on `name` of `side` (noema or hand); `next()` resolves at its next update frame. */
export async function subscribe(url, side, name) {
  const path = side === "noema" ? `/api/products/${name}/sync?token=bench-token` : `/sync/hand/${name}`;
  const ws = new globalThis.WebSocket(`${url.replace(/^http/, "ws")}${path}`);
  let waiter;
  await new Promise((ready, fail) => {
    ws.addEventListener("open", () => (side === "noema" ? ws.send(BENCH_HELLO) : ready()));
    ws.addEventListener("message", (e) => {
      const text = String(e.data);
      if (text.startsWith('{"t":"snapshot"')) ready();
      else if (text.startsWith('{"t":"diff"') || text.startsWith('{"t":"row"')) waiter?.();
    });
    ws.addEventListener("error", () => fail(new Error(`WebSocket ${path} failed`)));
  });
  return { ws, next: () => new Promise((ok) => (waiter = ok)) };
}

/** `count` writes to `name` through the bench Worker's `/sync-write`, each awaited until `sub` has its frame. */
export async function writes(post, target, name, sub, count) {
  for (let i = 0; i < count; i++) {
    const got = sub.next();
    await post("/sync-write", { target, name });
    await got;
  }
}
