// What `npm start` prints to try the app: pure functions, so a test can run the same requests.

/** wrangler dev's own default port. */
export const DEFAULT_PORT = 8787;

/** The port `wrangler dev` will listen on, from its arguments (`--port 9000` or `--port=9000`). */
export function portOf(args) {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = arg === "--port" ? args[i + 1] : arg.startsWith("--port=") ? arg.slice("--port=".length) : undefined;
    if (value !== undefined && /^\d{1,5}$/.test(value)) return Number(value);
  }
  return DEFAULT_PORT;
}

/** Requests that answer 200 on a fresh app, in order: stock a product, then read it back. */
export const EXAMPLE_REQUESTS = [
  { method: "GET", path: "/health" },
  { method: "PUT", path: "/api/products/demo/stock/main", body: { quantity: 10 } },
  { method: "GET", path: "/api/products/demo" },
];

/** The example requests as curl commands against `port` with `token`. */
export function exampleCommands(port, token) {
  const base = `http://localhost:${port}`;
  return EXAMPLE_REQUESTS.map(({ method, path, body }) => {
    const auth = path.startsWith("/api/") ? ` -H "Authorization: Bearer ${token}"` : "";
    const data = body === undefined ? "" : ` -H "Content-Type: application/json" -d '${JSON.stringify(body)}'`;
    return `curl${method === "GET" ? "" : ` -X ${method}`}${auth}${data} ${base}${path}`;
  });
}
