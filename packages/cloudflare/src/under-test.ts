import type { Vocabulary } from "@noema/core";

/**
 * A World set up by the test kit (`@noema/cloudflare/testing`) before it started: the version of
 * its law to start on and how far its clock was moved. The Attractor reads it when it starts.
 */
export interface UnderTest {
  /** Start on this version of the lineage; undefined: the latest. */
  version: number | undefined;
  /** Milliseconds added to `Date.now()`: the Attractor's clock, moved forward by `advance`. */
  offset: number;
  /** The law the running instance holds, set when it starts: what a build function is built against. */
  held?: () => Vocabulary;
}

/**
 * Worlds under test, by Durable Object id. Only the test kit writes it, from test code in the
 * isolate that runs the Durable Objects; in production it stays empty, and no client reaches it.
 */
export const worldsUnderTest = new Map<string, UnderTest>();
