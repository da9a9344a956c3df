// One V8 inspector session over the DevTools protocol, as the profiling scripts open one on
// workerd (bench/profile-cpu.mjs through wrangler's inspector proxy, bench/startup/profile-eval.mjs
// on workerd's own): `send(method, params)` resolves with the answer to that call; `onEvent` gets
// every message that answers no call (HeapProfiler.addHeapSnapshotChunk, say).
export async function openInspector(url, headers = {}, onEvent = () => {}) {
  const socket = new globalThis.WebSocket(url, { headers });
  await new Promise((ok, fail) => {
    socket.onopen = ok;
    socket.onerror = () => fail(new Error(`cannot open the inspector at ${url}`));
  });
  let next = 0;
  const waiting = new Map();
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.id === undefined) return onEvent(message);
    waiting.get(message.id)?.(message);
    waiting.delete(message.id);
  };
  const send = (method, params = {}) =>
    new Promise((ok) => {
      waiting.set(++next, ok);
      socket.send(JSON.stringify({ id: next, method, params }));
    });
  return { send, close: () => socket.close() };
}
