import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Listening {
  host: string;
  port: number;
  /** `http://host:port` (IPv6 hosts bracketed). */
  endpoint: string;
  /** Stops accepting, ends open keep-alive connections at once; safe to call twice. */
  close(): Promise<void>;
}

/**
 * Binds one of the local cloud's HTTP stand-ins (port 0 = a free port) and gives it the close every
 * component needs: Ctrl-C and test teardown must not wait for idle keep-alive sockets.
 */
export const listen = async (server: Server, port = 0, host = '127.0.0.1'): Promise<Listening> => {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    host,
    port: bound,
    endpoint: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
};
