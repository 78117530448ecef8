import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLocalIssuer, InvalidTokenRequestError, SigningKeyLoadError } from './issuer.js';

const ISSUER = 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_local';

describe('createLocalIssuer', () => {
  let keyDir: string;

  beforeEach(async () => {
    keyDir = await mkdtemp(join(tmpdir(), 'http-api-issuer-'));
  });

  afterEach(async () => {
    await rm(keyDir, { recursive: true, force: true });
  });

  it('mints Cognito-shaped access tokens signed RS256 with the kid its JWKS publishes', async () => {
    const issuer = await createLocalIssuer({ issuer: ISSUER });

    const token = await issuer.mint({
      sub: 'owner-1',
      username: 'owner-1',
      clientId: 'app-client',
      groups: ['owner', 'committee'],
      scopes: ['civic/read', 'civic/write'],
      claims: { 'custom:subDistrictId': 'sd-1', 'custom:compoundIds': 'c-1,c-2' },
    });

    const header = decodeProtectedHeader(token);
    expect(header.alg).toBe('RS256');
    expect(header.kid).toBe(issuer.jwks.keys[0]?.kid);
    const { payload } = await jwtVerify(token, createLocalJWKSet(issuer.jwks), { issuer: ISSUER });
    expect(payload).toMatchObject({
      iss: ISSUER,
      sub: 'owner-1',
      client_id: 'app-client',
      token_use: 'access',
      scope: 'civic/read civic/write',
      'cognito:groups': ['owner', 'committee'],
      username: 'owner-1',
      'custom:subDistrictId': 'sd-1',
      'custom:compoundIds': 'c-1,c-2',
    });
    expect(payload.aud).toBeUndefined();
    expect(typeof payload.jti).toBe('string');
    expect(payload.exp).toBe((payload.iat ?? 0) + 3600);
  });

  it('mints id tokens whose aud is the app client id', async () => {
    const issuer = await createLocalIssuer({ issuer: ISSUER });

    const token = await issuer.mint({ username: 'guard-7', clientId: 'app-client', tokenUse: 'id' });

    const payload = decodeJwt(token);
    expect(payload).toMatchObject({ aud: 'app-client', token_use: 'id', 'cognito:username': 'guard-7' });
    expect(payload.client_id).toBeUndefined();
    expect(payload.scope).toBeUndefined();
  });

  it('publishes only public key material', async () => {
    const issuer = await createLocalIssuer({ issuer: ISSUER });

    const [key] = issuer.jwks.keys;

    expect(Object.keys(key ?? {}).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
  });

  it('points its OpenID configuration at the JWKS under the issuer', async () => {
    const issuer = await createLocalIssuer({ issuer: ISSUER });

    expect(issuer.openIdConfiguration()).toMatchObject({
      issuer: ISSUER,
      jwks_uri: `${ISSUER}/.well-known/jwks.json`,
      id_token_signing_alg_values_supported: ['RS256'],
    });
  });

  it('keeps the signing key in keyDir so tokens survive a restart', async () => {
    const first = await createLocalIssuer({ issuer: ISSUER, keyDir });
    const token = await first.mint({ username: 'owner-1' });

    const second = await createLocalIssuer({ issuer: ISSUER, keyDir });

    expect(second.jwks).toEqual(first.jwks);
    await expect(jwtVerify(token, createLocalJWKSet(second.jwks))).resolves.toBeDefined();
    const [file] = await readdir(keyDir);
    expect((await stat(join(keyDir, file ?? ''))).mode & 0o777).toBe(0o600);
  });

  it('keeps one key per issuer in a shared keyDir', async () => {
    const pool = await createLocalIssuer({ issuer: ISSUER, keyDir });
    const other = await createLocalIssuer({ issuer: `${ISSUER}-other`, keyDir });

    expect(other.jwks.keys[0]?.kid).not.toBe(pool.jwks.keys[0]?.kid);
    expect(await readdir(keyDir)).toHaveLength(2);
  });

  it('gives a fresh key to every in-memory issuer', async () => {
    const first = await createLocalIssuer({ issuer: ISSUER });
    const second = await createLocalIssuer({ issuer: ISSUER });

    expect(second.jwks.keys[0]?.kid).not.toBe(first.jwks.keys[0]?.kid);
  });

  it('refuses a corrupt key file rather than silently rotating the key', async () => {
    await createLocalIssuer({ issuer: ISSUER, keyDir });
    const [file] = await readdir(keyDir);
    await writeFile(join(keyDir, file ?? ''), '{"privateJwk":');

    await expect(createLocalIssuer({ issuer: ISSUER, keyDir })).rejects.toBeInstanceOf(SigningKeyLoadError);
  });

  it.each(['iss', 'exp', 'token_use', 'client_id'])('refuses a caller-supplied %s claim', async (claim) => {
    const issuer = await createLocalIssuer({ issuer: ISSUER });

    await expect(issuer.mint({ username: 'x', claims: { [claim]: 'forged' } })).rejects.toBeInstanceOf(
      InvalidTokenRequestError,
    );
  });
});
