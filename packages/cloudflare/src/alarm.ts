import type { AlarmChore } from "@noema/core/runtime";

/** Where the user's own alarm time is kept: the synchronous KV of a SQLite-backed object (`_cf_KV`). */
const USER_ALARM_KEY = "noema:alarm";
/** How long after a failed chore or `onAlarm()` it runs again. */
export const ALARM_RETRY_MS = 30_000;

/** What the alarm multiplexing reaches of its Attractor. */
export interface AlarmHost {
  storage: DurableObjectStorage;
  /** The Attractor's clock (moved forward in a test World). */
  now(): number;
  /** How far the clock runs ahead of real time (a test World's moved clock): the alarm rings in real time. */
  offset(): number;
  /** Names the Attractor in logs. */
  readonly attractor: string;
}

/**
 * The one Durable Object alarm, shared by every feature's chore and the user's `schedule()`:
 * pointed at the earliest time any of them wants, each run serving what is due. A chore that
 * throws is logged and tried again ALARM_RETRY_MS later, without holding up the others.
 */
export class Alarm {
  /** What the alarm serves besides `onAlarm()`, in the order each run serves it (Cryostasis first); set when the Attractor has woken. */
  #chores: readonly AlarmChore[] | undefined;
  /** False while the Attractor cannot run its stored law: its frozen Intents, and their alarm, are left alone. */
  #available: () => boolean = () => true;
  /** A chore that threw waits until this time (kept in memory: a restart simply tries it again). */
  readonly #retryAt = new Map<string, number>();
  /**
   * When the alarm this object last set rings: null when it knows none is set (it cleared it, or
   * the alarm that rang is spent), undefined when it does not know (from its wake until it sets one).
   */
  #armedAt: number | null | undefined;
  /** The real time that alarm was set for (a test World's clock may move in between). */
  #armedReal: number | undefined;
  /** The user alarm time `onAlarm()` is running for: not re-armed while it runs. */
  #running: number | undefined;

  constructor(private readonly host: AlarmHost) {}

  /**
   * The chores, once the Attractor has woken; re-arms, since a restart, an eviction or a code
   * update may have lost the alarm. With nothing to serve it clears nothing: an alarm left from
   * before only rings once, finds nothing and is spent.
   * A World `created` by this wake has no chore work yet: only a `schedule()` from its
   * constructor can want the alarm, so the chores' queues are not read.
   */
  serve(chores: readonly AlarmChore[], available: () => boolean, created = false): void {
    this.#chores = chores;
    this.#available = available;
    if (created && this.host.storage.kv.get(USER_ALARM_KEY) === undefined) return;
    this.#rearm(true);
  }

  /** When a chore next wants the alarm: its own time, but not before a failed run's retry time. */
  #choreTime(chore: AlarmChore): number | undefined {
    const next = chore.next();
    return next === undefined ? undefined : Math.max(next, this.#retryAt.get(chore.name) ?? next);
  }

  /**
   * Work was added, the earliest of it due at `earliest`. Work added no sooner than the alarm this
   * object set rings is served by that run, which re-arms for the rest: one reservation freezing
   * its release an hour ahead should not re-read every chore's queue and set the alarm again.
   * Removed work is never reported (see SedimentHost): moving the alarm is a durable write, paid by
   * each cancelled entry, where an alarm that rings early costs only when it rings, and re-arms.
   */
  changed(earliest: number): void {
    if (typeof this.#armedAt === "number" && earliest >= this.#armedAt) return;
    this.rearm();
  }

  /**
   * Points the alarm at the earliest of every chore's next time and the time given to
   * `schedule()`, or clears it. It reads every queue from storage rather than trusting memory;
   * only the time it set is remembered (see `changed`), and setting that same time again, or
   * clearing an alarm it knows is not set, writes nothing.
   */
  rearm(): void {
    this.#rearm(false);
  }

  /** `atWake`: the alarm this instance knows nothing of is left as it is when nothing wants it (see `serve`). */
  #rearm(atWake: boolean): void {
    // Called before the wake finished (a schedule() in a subclass constructor): the wake re-arms.
    if (!this.#chores) return;
    const { storage } = this.host;
    const user = storage.kv.get<number>(USER_ALARM_KEY);
    const times = user === undefined || user === this.#running ? [] : [user];
    for (const chore of this.#chores) {
      const at = this.#choreTime(chore);
      if (at !== undefined) times.push(at);
    }
    if (times.length === 0) {
      if (!this.#available() || this.#armedAt === null || (atWake && this.#armedAt === undefined)) return;
      this.#armedAt = null;
      this.#armedReal = undefined;
      void storage.deleteAlarm();
      return;
    }
    const at = Math.min(...times);
    // The alarm rings in real time: a clock moved forward in a test rings that much sooner.
    const real = at - this.host.offset();
    this.#armedAt = at;
    if (real === this.#armedReal) return;
    this.#armedReal = real;
    void storage.setAlarm(real);
  }

  /** The alarm rang: every chore that is due gets one slice, in order. */
  async runChores(): Promise<void> {
    // The alarm that rang is spent (none is left unless set again): work added while it runs must re-arm.
    this.#armedAt = null;
    this.#armedReal = undefined;
    const now = this.host.now();
    for (const chore of this.#chores ?? []) {
      const at = this.#choreTime(chore);
      if (at === undefined || at > now) continue;
      try {
        await chore.run(now);
        this.#retryAt.delete(chore.name);
      } catch (error) {
        console.error(`noema: ${this.host.attractor} ${chore.name} failed, retrying in ${ALARM_RETRY_MS} ms:`, error);
        this.#retryAt.set(chore.name, this.host.now() + ALARM_RETRY_MS);
      }
    }
  }

  /** Then `onAlarm` runs if the time given to `schedule()` has come; if it throws, it runs again ALARM_RETRY_MS later. */
  async runScheduled(onAlarm: () => void | Promise<void>): Promise<void> {
    const { kv } = this.host.storage;
    const due = kv.get<number>(USER_ALARM_KEY);
    if (due === undefined || due > this.host.now()) return;
    this.#running = due;
    let next: number | undefined;
    try {
      await onAlarm();
    } catch (error) {
      // Logged and run again later rather than rethrown: the same alarm also serves frozen Intents.
      console.error(`noema: ${this.host.attractor} onAlarm() failed, retrying in ${ALARM_RETRY_MS} ms:`, error);
      next = this.host.now() + ALARM_RETRY_MS;
    } finally {
      this.#running = undefined;
    }
    // Unless onAlarm() called schedule(), this time has been served (or is retried).
    if (kv.get<number>(USER_ALARM_KEY) === due) {
      if (next === undefined) kv.delete(USER_ALARM_KEY);
      else kv.put(USER_ALARM_KEY, next);
    }
    this.rearm();
  }

  /** Asks for `onAlarm()` at `at` (ms since the epoch), or cancels it (`null`). */
  schedule(at: number | null): void {
    if (at === null) this.host.storage.kv.delete(USER_ALARM_KEY);
    else this.host.storage.kv.put(USER_ALARM_KEY, at);
    this.rearm();
  }

  /** The time given to `schedule()` that has not run yet. */
  scheduled(): number | undefined {
    return this.host.storage.kv.get<number>(USER_ALARM_KEY);
  }
}
