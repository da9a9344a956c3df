import { Attractor } from "@noema/cloudflare";
import type { WakeOutcome } from "@noema/core";
import { ledger } from "../ledger/vocabulary.js";

export interface Chores {
  /** When each onAlarm() ran. */
  ran: number[];
  /** What each onWake() was given. */
  woken: WakeOutcome[][];
}

const CHORES = "test:chores";
const LEFT = "test:left";
const FAIL = "test:fail";
/** Between repeats of a chore: short, so a test waits on the real alarm. */
export const REPEAT_MS = 20;

/** A ledger that also has alarm work of its own: it schedules it, and records its wakes. */
export class ChoreAttractor extends Attractor<unknown, typeof ledger> {
  static law = ledger;

  /** Runs onAlarm() at `at`, then `times - 1` more times, REPEAT_MS apart; `null` cancels. */
  remind(at: number | null, times = 1, options: { fail?: boolean } = {}): void {
    this.ctx.storage.kv.put(LEFT, times);
    this.ctx.storage.kv.put(FAIL, options.fail ?? false);
    this.schedule(at);
  }

  reminder(): number | undefined {
    return this.scheduled();
  }

  chores(): Chores {
    return this.ctx.storage.kv.get<Chores>(CHORES) ?? { ran: [], woken: [] };
  }

  protected override onAlarm(): void {
    const kv = this.ctx.storage.kv;
    if (kv.get<boolean>(FAIL)) {
      kv.put(FAIL, false);
      throw new Error("chore failed");
    }
    const chores = this.chores();
    kv.put(CHORES, { ...chores, ran: [...chores.ran, Date.now()] });
    const left = (kv.get<number>(LEFT) ?? 1) - 1;
    kv.put(LEFT, left);
    if (left > 0) this.schedule(Date.now() + REPEAT_MS);
  }

  protected override onWake(outcomes: WakeOutcome[]): void {
    const chores = this.chores();
    this.ctx.storage.kv.put(CHORES, { ...chores, woken: [...chores.woken, outcomes] });
  }
}

/** How far ahead a StartChoreAttractor schedules its chore. */
export const START_CHORE_MS = 60 * 60 * 1000;

/** Schedules its chore in its constructor when none is scheduled: a World's very first schedule() then comes before its wake has finished. */
export class StartChoreAttractor extends ChoreAttractor {
  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    if (this.scheduled() === undefined) this.schedule(Date.now() + START_CHORE_MS);
  }
}

/** Overrides alarm(): refused when it starts, since it would stop every frozen Intent. */
export class RogueAlarmAttractor extends Attractor<unknown, typeof ledger> {
  static law = ledger;
  // @ts-expect-error the alarm belongs to the Attractor: override onAlarm() instead
  override async alarm() {}
}

/** Declares no law. */
export class LawlessAttractor extends Attractor {}
