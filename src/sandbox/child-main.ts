/**
 * The child's side of ChildPool: announce readiness, answer each request with the handler's reply, and
 * exit when the parent goes (its IPC channel closes), so no child outlives the process that started it.
 */
export function serveChild<Q, R>(handler: (request: Q) => Promise<R>): void {
  const send = (message: unknown) => process.send?.(message);
  process.on('message', (message: { request: Q }) => {
    handler(message.request).then(
      (reply) => send({ reply }),
      // A handler reports its failures in its reply; a throw here is a bug, and the pool sees the exit.
      () => process.exit(70),
    );
  });
  process.on('disconnect', () => process.exit(0));
  send({ ready: true });
}
