// @noema/client/react: the client in React components.
import type { Intent, Lineage, Statement, Vocabulary } from "@noema/core";
import { useCallback, useMemo, useState, useSyncExternalStore } from "react";
import type { ClientState, NoemaClient, Sent } from "./client.js";

/**
 * A live query's rows, re-rendered when they change (optimistic sends included). `args`
 * are compared by value, so an object literal may be passed on every render.
 */
export function useLiveQuery<L extends Vocabulary | Lineage, A, R extends object>(client: NoemaClient<L>, statement: Statement<A, R>, ...args: unknown extends A ? [] : [args: A]): readonly R[] {
  const key = JSON.stringify(args[0] ?? null);
  // `key` stands for the arguments: the same values make the same query.
  const live = useMemo(() => client.live(statement, ...args), [client, statement, key]);
  return useSyncExternalStore(
    (onChange) => live.subscribe(onChange),
    () => live.rows,
  );
}

/** The client's state (connection, `behind`, pending sends), re-rendered when it changes. */
export function useClientState<L extends Vocabulary | Lineage>(client: NoemaClient<L>): ClientState {
  return useSyncExternalStore(
    (onChange) => client.subscribe(onChange),
    () => client.state,
  );
}

/** `send` for a component, with the last send's Seal or error: `refused` holds a refusal's reason. */
export function useSend<L extends Vocabulary | Lineage>(client: NoemaClient<L>): {
  send: (intent: Intent) => Promise<Sent>;
  last: Sent | undefined;
  refused: string | undefined;
} {
  const [last, setLast] = useState<Sent>();
  const [refused, setRefused] = useState<string>();
  const send = useCallback(
    async (intent: Intent) => {
      const sent = await client.send(intent);
      setLast(sent);
      setRefused(undefined);
      sent.seal.then(
        (seal) => setRefused(seal.success ? undefined : seal.reason.message),
        (error: Error) => setRefused(error.message),
      );
      return sent;
    },
    [client],
  );
  return { send, last, refused };
}
