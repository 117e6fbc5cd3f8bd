import { createConnection, createServer } from 'node:net';
import type { Socket } from 'node:net';

/**
 * A TCP relay on this host: every connection accepted on `listen` is piped to `target`, both ways. It lets
 * a process in a network namespace reach a service that listens on this host's loopback only (PostgreSQL
 * on 127.0.0.1), over the namespace's veth link, so that taking the link down cuts that path as a real
 * network would: packets stop, no connection is closed by anyone.
 */
export interface TcpProxy {
  host: string;
  port: number;
  /** Connections relayed so far (to see the process behind it really came through). */
  readonly accepted: number;
  close(): Promise<void>;
}

export async function startTcpProxy(
  listen: { host: string; port?: number },
  target: { host: string; port: number },
): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const server = createServer((inbound) => {
    accepted++;
    const outbound = createConnection(target);
    track(inbound);
    track(outbound);
    // An error or end on one side ends the other: the relay adds no failure of its own.
    const end = () => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('error', end).on('close', end);
    outbound.on('error', end).on('close', end);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port ?? 0, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('the TCP proxy has no address');
  return {
    host: listen.host,
    port: address.port,
    get accepted() {
      return accepted;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
