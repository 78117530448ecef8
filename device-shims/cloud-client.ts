/**
 * What the simulator needs from a running cloud: its endpoints (`.local/cloud.json`, written by
 * `npm start`), a token from the local control plane, device registration through the HTTP API, and
 * device credentials on disk in the layout the demo seed uses (`<dir>/<thing>/certificate.pem.crt`).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { DeviceEndpoint, DeviceIdentity } from './device.js';

export class LocalCloudNotRunningError extends Error {
  override name = 'LocalCloudNotRunningError';
}

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface LocalCloudInfo {
  endpoints: {
    api: string;
    mqtt: DeviceEndpoint;
    iotData: string;
    control: string;
  };
  caPath: string;
  pid?: number;
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Reads `<dataDir>/cloud.json`; a clear error when no local cloud is running there. */
export const readLocalCloud = (dataDir: string): LocalCloudInfo => {
  const file = path.join(dataDir, 'cloud.json');
  if (!existsSync(file)) {
    throw new LocalCloudNotRunningError(
      `No ${file}: start the local cloud first (npm start${dataDir.endsWith('.local') ? '' : ` -- --data-dir ${dataDir}`}).`,
    );
  }
  const info = JSON.parse(readFileSync(file, 'utf8')) as LocalCloudInfo;
  if (typeof info.pid === 'number' && !isAlive(info.pid)) {
    throw new LocalCloudNotRunningError(
      `${file} names process ${info.pid}, which is not running: start the local cloud first (npm start).`,
    );
  }
  return info;
};

/** A token for a role from the local control plane (`POST <control>/tokens`). */
export const fetchToken = async (controlUrl: string, role: string): Promise<string> => {
  const response = await fetch(`${controlUrl}/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ role }),
  });
  if (!response.ok) throw new ApiError(response.status, `POST /tokens → ${response.status}`);
  return ((await response.json()) as { token: string }).token;
};

export interface DeviceCredentials {
  thingName: string;
  certificatePem: string;
  privateKey: string;
}

export interface ApiResponse {
  status: number;
  body: unknown;
}

/** The few API calls the simulator makes, as the street office. */
export class CivicApi {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
  ) {}

  async request(method: string, route: string, body?: unknown): Promise<ApiResponse> {
    const response = await fetch(`${this.baseUrl}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, body: parsed };
  }

  async registerDevice(
    compoundId: string,
    device: { thingName?: string; type: string; zoneId: string; position: { lat: number; lon: number } },
  ): Promise<DeviceCredentials> {
    const { status, body } = await this.request('POST', `/compounds/${compoundId}/devices`, device);
    if (status !== 201) {
      throw new ApiError(
        status,
        `POST /compounds/${compoundId}/devices ${device.thingName ?? ''} → ${status} ${JSON.stringify(body)}`,
      );
    }
    return (body as { credentials: DeviceCredentials }).credentials;
  }

  async decommissionDevice(thingName: string): Promise<void> {
    const { status, body } = await this.request('DELETE', `/devices/${encodeURIComponent(thingName)}`);
    if (status !== 200) {
      throw new ApiError(status, `DELETE /devices/${thingName} → ${status} ${JSON.stringify(body)}`);
    }
  }

  /**
   * Every item of a list route, following cursors (at most `maxPages`), or the status when the route
   * answers anything but 200 — a feature that is not deployed yet answers 404.
   */
  async listAll(
    route: string,
    maxPages = 20,
  ): Promise<{ items: Record<string, unknown>[] } | { status: number }> {
    const items: Record<string, unknown>[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < maxPages; page++) {
      const separator = route.includes('?') ? '&' : '?';
      const url = `${route}${separator}limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const { status, body } = await this.request('GET', url);
      if (status !== 200) return { status };
      const result = body as { items?: Record<string, unknown>[]; nextCursor?: string };
      items.push(...(result.items ?? []));
      cursor = result.nextCursor;
      if (!cursor) break;
    }
    return { items };
  }
}

/** Writes a thing's credentials as the demo seed does: `<dir>/<thing>/certificate.pem.crt|private.pem.key`. */
export const writeCredentials = (devicesDir: string, credentials: DeviceCredentials): void => {
  const dir = path.join(devicesDir, credentials.thingName);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'certificate.pem.crt'), credentials.certificatePem);
  writeFileSync(path.join(dir, 'private.pem.key'), credentials.privateKey, { mode: 0o600 });
};

/** The identity of a thing whose credentials are in `<devicesDir>/<thing>/`, or undefined. */
export const identityIn = (
  devicesDir: string,
  thingName: string,
  caPath: string,
): DeviceIdentity | undefined => {
  const certificatePath = path.join(devicesDir, thingName, 'certificate.pem.crt');
  const privateKeyPath = path.join(devicesDir, thingName, 'private.pem.key');
  if (!existsSync(certificatePath) || !existsSync(privateKeyPath)) return undefined;
  return { thingName, certificatePath, privateKeyPath, caPath };
};
