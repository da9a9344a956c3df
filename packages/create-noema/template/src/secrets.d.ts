// Secrets are not in wrangler.jsonc, so `wrangler types` only sees them in a local .dev.vars: declare them here.
interface Env {
  /** The bearer token of the /api routes. */
  NOEMA_API_TOKEN: string;
}
