import type { Env as AppEnv } from "../src/env.js";

declare global {
  namespace Cloudflare {
    interface Env extends AppEnv {}
  }
}
