import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildIntent } from "@noema/core";
import { describe, expect, it } from "vitest";
import { inventoryNomosV1 as inventoryNomos, inventoryNomosV2, inventoryNomosV3, inventoryV1 } from "./fixtures/inventory.js";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const BIN = here("../dist/main.js");
const INVENTORY = here("./fixtures/inventory.ts");
const fixture = (name: string) => here(`./fixtures/${name}`);

function noema(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const tmp = mkdtempSync(join(tmpdir(), "noema-cli-"));
function jsonFile(name: string, value: unknown): string {
  const path = join(tmp, name);
  writeFileSync(path, typeof value === "string" ? value : JSON.stringify(value));
  return path;
}

const reserveV1 = jsonFile(
  "reserve-v1.json",
  buildIntent(inventoryV1, (s) => void s.reserve({ locationId: "berlin", quantity: 2 })),
);

/** Bad input: exactly one line on stderr, nothing on stdout, exit code 2. */
function expectUsageError(r: ReturnType<typeof noema>, message: RegExp) {
  expect(r.code).toBe(2);
  expect(r.stdout).toBe("");
  expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
  expect(r.stderr).toMatch(message);
}

describe("noema --help", () => {
  it("documents every command and option", () => {
    const r = noema("--help");
    expect(r.code).toBe(0);
    for (const word of ["ddl", "hash", "explain", "connection", "--law", "--export", "--json", "--from", "--to", "--intent", "--version", "--internal", "--now"]) {
      expect(r.stdout).toContain(word);
    }
    expect(noema().stdout).toBe(r.stdout);
  });
});

describe("noema hash", () => {
  it("prints name, version and hash of every version of a lineage", () => {
    const r = noema("hash", "--law", INVENTORY);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`inventory v1 ${inventoryNomos.hash}\ninventory v2 ${inventoryNomosV2.hash}\ninventory v3 ${inventoryNomosV3.hash}\n`);
  });

  it("reads a module that exports a single vocabulary, as JSON", () => {
    const r = noema("hash", "--law", fixture("counter.ts"), "--json");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toStrictEqual([{ name: "counter", version: 1, hash: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
  });

  it("picks one of several laws with --export", () => {
    expectUsageError(noema("hash", "--law", fixture("two-laws.ts")), /several laws \(first, second\).*--export/);
    expect(noema("hash", "--law", fixture("two-laws.ts"), "--export", "second").code).toBe(0);
    expectUsageError(noema("hash", "--law", fixture("two-laws.ts"), "--export", "third"), /no export "third"/);
  });
});

describe("noema ddl", () => {
  it("prints the latest version's CREATE statements, or an older version's", () => {
    const latest = noema("ddl", "--law", INVENTORY);
    expect(latest.code).toBe(0);
    expect(latest.stdout).toBe(`${inventoryNomosV3.ddl.map((s) => `${s};`).join("\n")}\n`);
    const v1 = noema("ddl", "--law", INVENTORY, "--version", "1", "--json");
    expect(JSON.parse(v1.stdout)).toStrictEqual([...inventoryNomos.ddl]);
  });

  it("adds Noema's own tables with --internal", () => {
    const r = noema("ddl", "--law", INVENTORY, "--internal", "--json");
    const statements = JSON.parse(r.stdout) as string[];
    expect(statements.slice(0, inventoryNomosV3.ddl.length)).toStrictEqual([...inventoryNomosV3.ddl]);
    expect(statements.some((s) => s.includes("_noema_sediment"))).toBe(true);
  });
});

describe("noema explain", () => {
  it("prints the SQL, parameters and Sieve of an Intent under the law it claims", () => {
    const r = noema("explain", reserveV1, "--law", INVENTORY, "--now", "1000");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Intent under inventory v1 (${inventoryNomos.hash})`);
    expect(r.stdout).toContain("step 0: reserve");
    expect(r.stdout).toMatch(/UPDATE stock SET reserved = reserved \+ \?/);
    expect(r.stdout).toContain('params [2,1000,"berlin",2');
    expect(r.stdout).toMatch(/\nsieve:\n( {2}\S+ [0-9a-f]{64}\n)+$/);
    expect(r.stdout).toMatch(/\n {2}op:reserve [0-9a-f]{64}\n/);
  });

  it("prints the explain Interpretation as JSON", () => {
    const r = noema("explain", reserveV1, "--law", INVENTORY, "--json", "--now", "1000");
    const out = JSON.parse(r.stdout);
    expect(out.steps[0].op).toBe("reserve");
    expect(out.context).toStrictEqual({ now: 1000, sedimentId: 1 });
    expect(out.sieve["op:reserve"]).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("noema connection", () => {
  it("prints the classified diff between two versions", () => {
    const r = noema("connection", "--from", "1", "--to", "2", "--law", INVENTORY);
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")[0]).toBe("inventory v1 → v2: Curved");
    expect(r.stdout).toMatch(/\* Curved {3}operation_changed op:reserve/);
  });

  it("is relative to an Intent's Sieve with --intent", () => {
    const release = jsonFile("release-v1.json", buildIntent(inventoryV1, (s) => void s.release({ reservationId: "r-1" })));
    const flat = JSON.parse(noema("connection", "--from", "1", "--to", "2", "--intent", release, "--law", INVENTORY, "--json").stdout);
    expect(flat.map((c: { type: string }) => c.type)).toStrictEqual(["Flat"]);
    const curved = noema("connection", "--from", "1", "--to", "2", "--intent", reserveV1, "--law", INVENTORY);
    expect(curved.stdout.split("\n")[0]).toBe("inventory v1 → v2: Curved for this Intent");
  });
});

describe("bad input: one line, exit 2", () => {
  it("a missing module", () => expectUsageError(noema("hash", "--law", fixture("nowhere.ts")), /no law module at .*nowhere\.ts/));
  it("the default law path, when there is none", () => expectUsageError(noema("hash"), /no law module at src\/law\.ts/));
  it("a module that does not compile", () => expectUsageError(noema("hash", "--law", jsonFile("broken.ts", "export const law = ;\n")), /cannot load .*broken\.ts/));
  it("a module that exports no law", () => expectUsageError(noema("ddl", "--law", fixture("no-law.ts")), /exports no law/));
  it("invalid JSON", () => expectUsageError(noema("explain", jsonFile("bad.json", "{ nope"), "--law", INVENTORY), /bad\.json is not valid JSON/));
  it("an Intent file that does not exist", () => expectUsageError(noema("explain", join(tmp, "none.json"), "--law", INVENTORY), /cannot read/));
  it("an invalid Intent", () =>
    expectUsageError(noema("explain", jsonFile("unknown-op.json", { v: 1, steps: [{ op: "nope", args: {} }] }), "--law", INVENTORY), /invalid Intent: .*nope/));
  it("an unknown version", () => {
    expectUsageError(noema("ddl", "--version", "7", "--law", INVENTORY), /inventory has no v7/);
    expectUsageError(noema("connection", "--from", "1", "--to", "4", "--law", INVENTORY), /inventory has no v4/);
  });
  it("a version that is not a number", () => expectUsageError(noema("connection", "--from", "one", "--to", "2", "--law", INVENTORY), /--from must be a whole number/));
  it("connection without --from/--to", () => expectUsageError(noema("connection", "--law", INVENTORY), /needs --from <n> and --to <m>/));
  it("an unknown command or option", () => {
    expectUsageError(noema("migrate"), /unknown command "migrate"/);
    expectUsageError(noema("hash", "--frob"), /--frob/);
  });
  it("explain without a file", () => expectUsageError(noema("explain", "--law", INVENTORY), /explain needs an Intent file/));
});

describe("a law that cannot be used: every command, one line, exit 2 (issue 17)", () => {
  const addSeat = jsonFile("add-seat.json", { v: 1, steps: [{ op: "addSeat", args: { id: "a1" } }] });
  const commands = [["ddl"], ["hash"], ["explain", addSeat], ["connection", "--from", "1", "--to", "2", "--intent", addSeat]];
  const unreadable =
    /^noema: cannot load .*unreadable-sql\.ts: operation "addSeat" statement "insert": cannot read this SQL: expected .* at column 67 \(near "SELECT id, statu"\); in: INSERT INTO seats \(id, status\) SELECT \?, 'free' FROM event EXCEPT SELECT id, status FROM seats\n$/;

  it.each(commands)("%s: SQL the Sieve cannot read names the operation, the statement, the position and the SQL", (...command) => {
    expectUsageError(noema(...command, "--law", fixture("unreadable-sql.ts")), unreadable);
  });

  it.each(commands)("%s: a column the table lacks (issue 22)", (...command) => {
    expectUsageError(noema(...command, "--law", fixture("unknown-column.ts")), /^noema: cannot load .*unknown-column\.ts: operation "holdSeat" statement "hold": table "seats" has no column "state" in Nomos seating v1 at column 18 \(near "state = 'held' W"\); in: UPDATE seats/);
  });

  it("check: the same line, exit 2, not a failed check's 1", () => {
    expectUsageError(noema("check", "--law", fixture("unreadable-sql.ts")), /^noema check: cannot load .*unreadable-sql\.ts: operation "addSeat" statement "insert": cannot read this SQL/);
    expectUsageError(noema("check", "--law", fixture("unknown-column.ts")), /^noema check: cannot load .*unknown-column\.ts: operation "holdSeat" statement "hold": table "seats" has no column "state"/);
  });
});

describe("noema build", () => {
  const repo = (path: string) => here(`../../../${path}`);
  /** A copy of the counter fixture in a folder of its own, resolving @noema/core from this repository. */
  function counterProject(): { law: string; generated: string } {
    const dir = mkdtempSync(join(here("./fixtures"), ".build-"));
    const law = join(dir, "law.ts");
    writeFileSync(law, `import "./law.footprints.js";\n${readFileSync(fixture("counter.ts"), "utf8")}`);
    return { law, generated: join(dir, "law.footprints.ts") };
  }

  it("writes the footprints of every statement next to the law, which a missing or stale copy does not stop", () => {
    const { law, generated } = counterProject();
    try {
      const r = noema("build", "--law", law);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^wrote .*law\.footprints\.ts\n$/);
      const text = readFileSync(generated, "utf8");
      expect(text).toContain('import { registerFootprints } from "@noema/core";');
      expect(text).toContain('"INSERT INTO counters (id, value) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET value = value + excluded.value RETURNING value": [["counters"], ["counters.id", "counters.value"], ["counters"], ["counters"]]');
      expect(noema("build", "--check", "--law", law).code).toBe(0);
      // The law changes: --check says the file is stale, and build writes it afresh.
      writeFileSync(law, readFileSync(law, "utf8").replace("RETURNING value", "RETURNING id, value"));
      const stale = noema("build", "--check", "--law", law);
      expect(stale.code).toBe(1);
      expect(stale.stdout).toMatch(/^out of date: .*law\.footprints\.ts \(run noema build\)\n$/);
      expect(readFileSync(generated, "utf8")).toBe(text);
      expect(noema("build", "--law", law).code).toBe(0);
      expect(readFileSync(generated, "utf8")).toContain("RETURNING id, value");
      expect(noema("build", "--check", "--law", law).code).toBe(0);
    } finally {
      rmSync(dirname(law), { recursive: true, force: true });
    }
  });

  it("refuses SQL the parser cannot read, naming the operation, the statement and the position: exit 2, one line", () => {
    expectUsageError(noema("build", "--law", fixture("unreadable-sql.ts")), /^noema: cannot load .*unreadable-sql\.ts: operation "addSeat" statement "insert": cannot read this SQL: .* at column 67/);
  });

  it("the template's and the inventory app's generated footprints are up to date", () => {
    const template = noema("build", "--check", "--law", repo("packages/create-noema/template/src/law.ts"));
    expect(template.stdout).toBe("the generated footprints are up to date\n");
    // The reference app's law modules, as its `npm run build` names them.
    const inventory = noema("build", "--check", ...["apps/inventory/src/law.ts", "apps/inventory/src/catalog/vocabulary.ts", "apps/inventory/src/orders/vocabulary.ts"].map(repo));
    expect(inventory.stdout).toBe("the generated footprints are up to date\n");
    expect([template.code, inventory.code]).toEqual([0, 0]);
  });

  it("--check belongs to build", () => {
    expectUsageError(noema("hash", "--check", "--law", INVENTORY), /^noema: --check is an option of build, not of hash\n$/);
  });
});
