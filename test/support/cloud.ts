import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { connectDevice, type Device } from '../../device-shims/device.js';
import { FREE_PORTS, type LocalCloud, type LocalCloudOptions, startLocalCloud } from '../../local/cloud.js';

/**
 * A local cloud on free ports, in memory, with short async retry delays; logs kept for failing tests.
 * `options` adds to those (e.g. a `timeScale` for rate() schedules).
 */
export const startTestCloud = async (
  options: Pick<LocalCloudOptions, 'timeScale'> = {},
): Promise<{
  cloud: LocalCloud;
  logs: string[];
  dataDir: string;
  stop(): Promise<void>;
}> => {
  const logs: string[] = [];
  // Free ports are picked at random and bound a moment later; with several clouds starting at once on
  // two cores, another process can take one in between (EADDRINUSE). The cloud stops what it started
  // when its start fails, so such a start is tried again on other ports.
  for (let attempt = 1; ; attempt++) {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'civic-test-'));
    try {
      const cloud = await startLocalCloud({
        inMemory: true,
        dataDir,
        synth: 'never',
        ports: FREE_PORTS,
        asyncRetryDelaysMs: [20, 40],
        // A failed ingest batch comes back after 1.2 s instead of the queue's 60 s.
        visibilityTimeoutScale: 0.02,
        log: (line) => logs.push(line),
        functionLog: (name, line) => logs.push(`${name} ${line}`),
        ...options,
      });
      return {
        cloud,
        logs,
        dataDir,
        stop: async () => {
          await cloud.stop();
          rmSync(dataDir, { recursive: true, force: true });
        },
      };
    } catch (error) {
      rmSync(dataDir, { recursive: true, force: true });
      if (attempt >= 3 || !/EADDRINUSE/.test(String((error as Error).message))) throw error;
    }
  }
};

/** Issues a certificate from the local CA and connects the thing over mutual TLS. */
export const connectThing = async (
  cloud: LocalCloud,
  thingName: string,
  options: { onInterrupted?: (error: Error) => void } = {},
): Promise<Device> => {
  const certificate = await cloud.ca.issueDeviceCertificate(thingName);
  return connectDevice(certificate, cloud.endpoints.mqtt, options);
};

/** Polls until `probe` returns a value other than undefined, or fails after `timeoutMs`. */
export const eventually = async <T>(
  probe: () => Promise<T | undefined>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};
