import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Where free ports are looked for, when the OS does not say where its ephemeral range starts. */
const LOWEST = 10_000;
const EPHEMERAL_DEFAULT = 32_768;

/**
 * The first port of the range Linux hands out on its own, to outgoing connections and to listen(0)
 * (`ip_local_port_range`); 32768 where there is no such file (macOS starts at 49152).
 */
export const ephemeralRangeStart = (): number => {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    const start = Number(low);
    return Number.isInteger(start) && start > LOWEST + 1_000 ? start : EPHEMERAL_DEFAULT;
  } catch {
    return EPHEMERAL_DEFAULT;
  }
};

const bindable = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/**
 * A free loopback port, for components whose endpoint must be known before they start (the functions'
 * environment names it) or that cannot bind port 0 and report back (DynamoDB Local). It is picked at
 * random below the OS's ephemeral range: a port from that range, free when picked, could be taken by
 * any outgoing connection (every SDK call opens some) before the component binds it, and a benchmark
 * once failed so with EADDRINUSE. Below the range only another process binding that very port can
 * take it in the meantime. `range` (from inclusive, to exclusive) is for tests.
 */
export const freePort = async (range: { from: number; to: number } = defaultRange()): Promise<number> => {
  const { from, to } = range;
  const tried = new Set<number>();
  while (tried.size < Math.min(to - from, 200)) {
    const port = from + Math.floor(Math.random() * (to - from));
    if (tried.has(port)) continue;
    tried.add(port);
    if (await bindable(port)) return port;
  }
  throw new Error(`No free port found between ${from} and ${to}`);
};

const defaultRange = () => ({ from: LOWEST, to: ephemeralRangeStart() });
