// `wrangler dev` for the tests that drive a Worker as a user would (the UI tests, the archive
// restart test): a free localhost port, bounded readiness, and a stop that also stops workerd.
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const WRANGLER = join(dirname(fileURLToPath(import.meta.url)), "../node_modules/.bin/wrangler");

export interface WranglerDevOptions {
  /** The Worker's folder; its wrangler.jsonc unless `config` names another. */
  cwd: string;
  config?: string;
  persistDir: string;
  vars: Record<string, string>;
  /** The port to listen on (a restart on the same address); default a free one. */
  port?: number;
  /** A path that answers 2xx once the Worker is up, and the headers it needs. */
  ready: { path: string; headers?: Record<string, string> };
  readyMs: number;
}

export interface WranglerDev {
  base: string;
  /** Stops wrangler and workerd, and waits until they have exited. */
  stop(): Promise<void>;
  /** SIGKILLs wrangler and workerd (a crash: nothing is flushed), and waits until wrangler has exited. */
  kill(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** Starts `wrangler dev` and resolves once `ready` answers; stops it and throws if it exits or does not answer within `readyMs`. */
/** Starts on a port another process took between freePort() and the bind: tried again, on fresh ports (or the same one, a moment later). */
const BIND_ATTEMPTS = 4;

export async function startWranglerDev(options: WranglerDevOptions): Promise<WranglerDev> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (error) {
      if (attempt >= BIND_ATTEMPTS || !(error instanceof AddressInUse)) throw error;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

class AddressInUse extends Error {}

async function startOnce(options: WranglerDevOptions): Promise<WranglerDev> {
  const [port, inspectorPort] = [options.port ?? (await freePort()), await freePort()];
  const args = ["dev", ...(options.config ? ["--config", options.config] : []), "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort),
    "--persist-to", options.persistDir, "--show-interactive-dev-session=false", ...Object.entries(options.vars).flatMap(([k, v]) => ["--var", `${k}:${v}`])];
  // Its own process group, so stopping it also stops workerd.
  const child: ChildProcess = spawn(WRANGLER, args, {
    cwd: options.cwd,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1" },
  });
  let output = "";
  child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  const signal = (name: NodeJS.Signals) => async () => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const exited = new Promise((r) => child.once("exit", r));
    process.kill(-child.pid, name);
    await exited;
  };
  const stop = signal("SIGTERM");
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + options.readyMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      const Failure = output.includes("Address already in use") ? AddressInUse : Error;
      throw new Failure(`wrangler dev exited with ${child.exitCode}:\n${output}`);
    }
    try {
      const res = await fetch(`${base}${options.ready.path}`, { ...(options.ready.headers ? { headers: options.ready.headers } : {}), signal: AbortSignal.timeout(2_000) });
      if (res.ok) return { base, stop, kill: signal("SIGKILL") };
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  throw new Error(`wrangler dev was not ready within ${options.readyMs} ms:\n${output}`);
}
