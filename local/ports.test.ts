import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ephemeralRangeStart, freePort } from './ports.js';

describe('freePort', () => {
  it('picks bindable ports below the range the OS gives outgoing connections', async () => {
    const start = ephemeralRangeStart();
    expect(start).toBeGreaterThan(11_000);
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(10_000);
      expect(port).toBeLessThan(start);
    }
    // Each one can really be bound.
    for (const port of new Set(ports)) {
      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => resolve());
      });
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('never picks a port that is taken', async () => {
    // Twenty ports of which nineteen are held: the free one is found, every time.
    const from = await freePort();
    const range = { from, to: from + 20 };
    const held = [];
    for (let port = range.from; port < range.to; port++) {
      const server = createServer();
      const bound = await new Promise<boolean>((resolve) => {
        server.once('error', () => resolve(false));
        server.listen(port, '127.0.0.1', () => resolve(true));
      });
      if (bound) held.push({ server, port });
    }
    const [spare, ...rest] = held;
    if (spare === undefined) throw new Error('no port of the range could be bound');
    await new Promise((resolve) => spare.server.close(resolve));
    for (let i = 0; i < 10; i++) expect(await freePort(range)).toBe(spare.port);
    // With every port held, it says so instead of answering a taken one.
    const again = createServer();
    await new Promise<void>((resolve) => again.listen(spare.port, '127.0.0.1', () => resolve()));
    await expect(freePort(range)).rejects.toThrow(/No free port/);
    await Promise.all(
      [again, ...rest.map(({ server }) => server)].map(
        (server) => new Promise((resolve) => server.close(resolve)),
      ),
    );
  });
});
