// `npm start`: runs the inventory app under `wrangler dev` with real SQLite-backed
// Durable Objects persisted in .wrangler/. Makes sure an API token exists first.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { exampleCommands, portOf } from "./example.mjs";

const appDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const devVars = join(appDir, ".dev.vars");
const current = existsSync(devVars) ? readFileSync(devVars, "utf8") : "";
const found = /^NOEMA_API_TOKEN\s*=\s*"?([^"\n]+)"?\s*$/m.exec(current);
let token = found?.[1];
if (!token) {
  token = randomBytes(24).toString("base64url");
  const sep = current === "" || current.endsWith("\n") ? "" : "\n";
  writeFileSync(devVars, `${current}${sep}NOEMA_API_TOKEN="${token}"\n`, { mode: 0o600 });
  console.log(`Wrote a new NOEMA_API_TOKEN to ${devVars}`);
}
const args = process.argv.slice(2);
console.log(`API token: ${token}
Scopes: NOEMA_API_TOKEN in ${devVars} has full access and may list several comma-separated tokens,
for rotation; add NOEMA_READ_TOKENS="<token>,<token>" there for read-only tokens (403 on any write).
Inspector: http://localhost:${portOf(args)}/inspector (sign in with either kind of token).
Once wrangler says it is ready, try:\n${exampleCommands(portOf(args), token).map((c) => `  ${c}`).join("\n")}\n`);

// npm puts node_modules/.bin (with Node 22 and wrangler) first on PATH.
const env = { WRANGLER_SEND_METRICS: "false", ...process.env };
const child = spawn("wrangler", ["dev", ...args], { cwd: appDir, stdio: "inherit", env });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
