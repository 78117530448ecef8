import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { z } from 'zod';
import { ROLES } from '../functions/shared/auth.js';
import type { LocalClock } from './clock.js';
import type { LocalIssuer } from './http-api/index.js';
import type { LocalCa } from './iot/ca.js';
import { listen } from './listen.js';

/** What a developer asks for when minting a token for a role. */
export const tokenRequestSchema = z
  .object({
    role: z.enum(ROLES),
    sub: z.string().min(1).max(128).optional(),
    username: z.string().min(1).max(128).optional(),
    subDistrictId: z.string().min(1).max(64).optional(),
    compoundIds: z.array(z.string().min(1).max(64)).max(100).optional(),
    areaIds: z.array(z.string().min(1).max(64)).max(100).optional(),
    companyId: z.string().min(1).max(64).optional(),
    ownerId: z.string().min(1).max(64).optional(),
    expiresInSeconds: z
      .number()
      .int()
      .min(-86_400)
      .max(7 * 86_400)
      .optional(),
  })
  .strict();
export type LocalTokenRequest = z.infer<typeof tokenRequestSchema>;

/** The furthest one `POST /clock` moves the clock: 366 days. */
export const MAX_CLOCK_ADVANCE_SECONDS = 366 * 86_400;

/** `POST /clock`: how many whole seconds to move the local cloud's clock forward. */
export const clockAdvanceSchema = z
  .object({ advanceSeconds: z.number().int().positive().max(MAX_CLOCK_ADVANCE_SECONDS) })
  .strict();

/** What `GET /clock` and `POST /clock` answer: the clock's time (ISO-8601) and its offset from real time. */
export interface ClockReading {
  now: string;
  offsetSeconds: number;
}

const readClock = (clock: LocalClock): ClockReading => ({
  now: new Date(clock.now()).toISOString(),
  offsetSeconds: clock.offsetMs / 1000,
});

/** The demo sub-district every role belongs to unless the request names another. */
export const DEMO_SUB_DISTRICT = 'sd-banshongyuan';

/**
 * Mints an ID token as the user pool would for a user in the role's group, with tenancy as custom
 * attributes (the API's JWT authorizer accepts ID tokens: `aud` is the app client).
 */
export const mintRoleToken = (
  issuer: LocalIssuer,
  clientId: string,
  request: LocalTokenRequest,
): Promise<string> => {
  const claims: Record<string, string> = {
    'custom:subDistrictId': request.subDistrictId ?? DEMO_SUB_DISTRICT,
  };
  if (request.compoundIds) claims['custom:compoundIds'] = request.compoundIds.join(',');
  if (request.areaIds) claims['custom:areaIds'] = request.areaIds.join(',');
  if (request.companyId) claims['custom:companyId'] = request.companyId;
  if (request.ownerId) claims['custom:ownerId'] = request.ownerId;
  return issuer.mint({
    sub: request.sub,
    username: request.username ?? `${request.role}-demo`,
    clientId,
    groups: [request.role],
    claims,
    tokenUse: 'id',
    expiresInSeconds: request.expiresInSeconds ?? 12 * 3600,
  });
};

const send = (response: ServerResponse, status: number, body: unknown) => {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
};

const readJson = async (request: IncomingMessage): Promise<unknown> => {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > 64 * 1024) throw new Error('Body too large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? {} : JSON.parse(text);
};

/**
 * The local cloud's own small control plane, standing in for what the AWS console and Cognito's hosted
 * sign-in give a developer: the issuer's OpenID metadata and JWKS, tokens for a role, device
 * certificates from the local CA, and the cloud's clock (`GET /clock`; `POST /clock` with
 * `{"advanceSeconds": n}` moves it forward, so a notice period can pass in a demo).
 */
export const startControlPlane = async (options: {
  port: number;
  issuer: LocalIssuer;
  clientId: string;
  ca: LocalCa;
  clock: LocalClock;
  onCertificateIssued?: (thingName: string) => void;
}): Promise<{ url: string; port: number; close(): Promise<void> }> => {
  let base = '';
  const server = http.createServer(async (request, response) => {
    try {
      const url = new URL(request.url ?? '/', 'http://localhost');
      if (request.method === 'GET' && url.pathname === '/.well-known/openid-configuration') {
        return send(response, 200, {
          ...options.issuer.openIdConfiguration(),
          jwks_uri: `${base}/.well-known/jwks.json`,
        });
      }
      if (request.method === 'GET' && url.pathname === '/.well-known/jwks.json')
        return send(response, 200, options.issuer.jwks);
      if (request.method === 'POST' && url.pathname === '/tokens') {
        const parsed = tokenRequestSchema.safeParse(await readJson(request));
        if (!parsed.success)
          return send(response, 400, { message: 'Invalid token request', issues: parsed.error.issues });
        const token = await mintRoleToken(options.issuer, options.clientId, parsed.data);
        return send(response, 200, { token, role: parsed.data.role });
      }
      if (request.method === 'GET' && url.pathname === '/clock')
        return send(response, 200, readClock(options.clock));
      if (request.method === 'POST' && url.pathname === '/clock') {
        const parsed = clockAdvanceSchema.safeParse(await readJson(request));
        if (!parsed.success)
          return send(response, 400, { message: 'Invalid clock request', issues: parsed.error.issues });
        options.clock.advance(parsed.data.advanceSeconds * 1000);
        return send(response, 200, readClock(options.clock));
      }
      const thing = /^\/things\/([^/]+)\/certificate$/.exec(url.pathname);
      if (thing !== null && request.method === 'POST') {
        const bundle = await options.ca.issueDeviceCertificate(decodeURIComponent(thing[1] as string));
        options.onCertificateIssued?.(bundle.thingName);
        return send(response, 201, bundle);
      }
      if (thing !== null && request.method === 'DELETE') {
        const revoked = await options.ca.revoke(decodeURIComponent(thing[1] as string));
        return send(response, 200, { revoked });
      }
      return send(response, 404, { message: 'Not Found' });
    } catch (error) {
      return send(response, 400, { message: (error as Error).message });
    }
  });
  const listening = await listen(server, options.port);
  base = listening.endpoint;
  return { url: listening.endpoint, port: listening.port, close: listening.close };
};
