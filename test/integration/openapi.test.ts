import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenApiDocument } from '../../functions/shared/openapi.js';
import type { LocalCloud } from '../../local/cloud.js';
import { startTestCloud } from '../support/cloud.js';

describe('GET /openapi.json on the local cloud', () => {
  let cloud: LocalCloud;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    ({ cloud, stop } = await startTestCloud());
  }, 180_000);

  afterAll(async () => {
    await stop?.();
  });

  it('is public and describes exactly the routes the synthesized template deploys', async () => {
    const response = await fetch(`${cloud.endpoints.api}/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    const document = (await response.json()) as OpenApiDocument;
    expect(document.openapi).toBe('3.1.0');

    const documented = Object.entries(document.paths)
      .flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();
    const deployed = cloud.stack.routes
      .map((route) => route.routeKey)
      .filter((routeKey) => routeKey !== '$default' && routeKey !== 'GET /openapi.json')
      .sort();
    expect(documented).toEqual(deployed);
    expect(new Set(documented).size).toBe(documented.length);
  });

  it('is served without a token even when one is sent, and the other routes still need one', async () => {
    const token = await cloud.token({ role: 'owner' });
    const withToken = await fetch(`${cloud.endpoints.api}/openapi.json`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(withToken.status).toBe(200);
    expect((await fetch(`${cloud.endpoints.api}/compounds`)).status).toBe(401);
  });
});
