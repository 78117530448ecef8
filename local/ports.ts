import { createServer } from 'node:net';

/**
 * Asks the OS for a free loopback port, for components (DynamoDB Local) that cannot bind port 0 and
 * report back. There is a short window in which another process could take it; tests tolerate that.
 */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('No port')),
      );
    });
  });
