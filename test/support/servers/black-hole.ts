/**
 * A TCP server on 127.0.0.1 that accepts connections and never answers: the endpoint that
 * hangs, for the agent's timeouts and for signals that arrive while restic waits on it.
 */
import * as net from 'net';
import { IStorageTarget, StorageTarget } from '../../../src';

export interface BlackHole {
  /** The hole as a restic repository URL (a REST server). */
  readonly url: string;
  /** A REST-server target on the hole, as the construct declares one. */
  target(name: string): IStorageTarget;
  close(): Promise<void>;
}

export async function blackHole(): Promise<BlackHole> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `rest:http://127.0.0.1:${port}/`,
    target: (name) => StorageTarget.restServer({ url: `http://127.0.0.1:${port}`, name, allowPlainHttp: true }),
    close: () =>
      new Promise<void>((resolve) => {
        sockets.forEach((s) => s.destroy());
        server.close(() => resolve());
      }),
  };
}
