import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JSONWebKeySet,
  type JWK,
  SignJWT,
} from 'jose';

/** The only algorithm the local issuer signs with; API Gateway's JWT authorizer accepts RSA keys only. */
export const LOCAL_ISSUER_ALG = 'RS256';

const DEFAULT_TTL_SECONDS = 3600;
const DEFAULT_CLIENT_ID = 'local-app-client';

export interface LocalIssuerOptions {
  /** The exact `iss` the template's authorizer expects, e.g. `https://cognito-idp.us-east-1.amazonaws.com/us-east-1_local`. */
  issuer: string;
  /** Where the signing key is kept so tokens minted before a restart still verify after it. In memory when absent. */
  keyDir?: string;
  /** App client id used when a token request names none. */
  defaultClientId?: string;
}

/** What a caller asks the issuer to put in a token. */
export interface TokenRequest {
  /** Cognito `sub`; a random UUID when absent. */
  sub?: string;
  username: string;
  /** App client id: `client_id` of an access token, `aud` of an id token. */
  clientId?: string;
  /** Cognito groups, i.e. the caller's roles, emitted as `cognito:groups`. */
  groups?: string[];
  /** OAuth scopes, emitted space-separated in `scope` (access tokens only). */
  scopes?: string[];
  /** Tenancy and other custom attributes, e.g. `custom:subDistrictId`. */
  claims?: Record<string, string>;
  /** `access` (default) mints a Cognito access token; `id` mints an id token. */
  tokenUse?: 'access' | 'id';
  /** Lifetime in seconds from `iat`; negative values mint an already expired token (tests). */
  expiresInSeconds?: number;
  /** Seconds relative to `iat` before which the token is not valid; Cognito sets no `nbf`, so absent by default. */
  notBeforeInSeconds?: number;
  /** Overrides `iat` (epoch seconds); defaults to now. */
  issuedAt?: number;
}

/** The subset of OpenID Provider Metadata a JWT authorizer needs to find the keys. */
export interface OpenIdConfiguration {
  issuer: string;
  jwks_uri: string;
  response_types_supported: string[];
  subject_types_supported: string[];
  id_token_signing_alg_values_supported: string[];
  token_endpoint_auth_methods_supported: string[];
  scopes_supported: string[];
  claims_supported: string[];
}

export interface LocalIssuer {
  readonly issuer: string;
  /** Public keys, as Cognito serves them at `<issuer>/.well-known/jwks.json`. */
  readonly jwks: JSONWebKeySet;
  mint(request: TokenRequest): Promise<string>;
  openIdConfiguration(): OpenIdConfiguration;
}

/** Thrown when a persisted signing key cannot be read back; deleting the file mints a fresh key. */
export class SigningKeyLoadError extends Error {
  constructor(
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot load the local issuer's signing key from ${path}`, options);
    this.name = 'SigningKeyLoadError';
  }
}

/** Thrown for a token request Cognito could never have produced. */
export class InvalidTokenRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidTokenRequestError';
  }
}

interface PersistedKey {
  issuer: string;
  privateJwk: JWK;
}

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

/**
 * Starts a token issuer that stands in for a Cognito user pool: RS256 tokens with a `kid`, shaped like
 * Cognito access and id tokens, under the exact `iss` the template's JWT authorizer trusts, so the local
 * HTTP API verifies them the way API Gateway verifies Cognito's.
 */
export async function createLocalIssuer(options: LocalIssuerOptions): Promise<LocalIssuer> {
  const issuer = options.issuer;
  if (!/^https?:\/\/\S+$/.test(issuer)) {
    throw new InvalidTokenRequestError(`issuer must be an http(s) URL, got ${JSON.stringify(issuer)}`);
  }
  const defaultClientId = options.defaultClientId ?? DEFAULT_CLIENT_ID;
  const key = options.keyDir ? await loadOrCreateKey(options.keyDir, issuer) : await generateSigningKey();
  const jwks: JSONWebKeySet = { keys: [{ ...key.publicJwk }] };

  return {
    issuer,
    jwks,
    mint: (request) => mintToken(issuer, key, defaultClientId, request),
    openIdConfiguration: () => ({
      issuer,
      jwks_uri: `${issuer.replace(/\/$/, '')}/.well-known/jwks.json`,
      response_types_supported: ['code', 'token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: [LOCAL_ISSUER_ALG],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      scopes_supported: ['openid', 'email', 'phone', 'profile'],
      claims_supported: [
        'aud',
        'cognito:groups',
        'cognito:username',
        'exp',
        'iat',
        'iss',
        'sub',
        'token_use',
      ],
    }),
  };
}

async function mintToken(
  issuer: string,
  key: SigningKey,
  defaultClientId: string,
  request: TokenRequest,
): Promise<string> {
  if (!request.username) throw new InvalidTokenRequestError('username is required');
  const tokenUse = request.tokenUse ?? 'access';
  const clientId = request.clientId ?? defaultClientId;
  const iat = request.issuedAt ?? Math.floor(Date.now() / 1000);
  const exp = iat + (request.expiresInSeconds ?? DEFAULT_TTL_SECONDS);
  const sub = request.sub ?? randomUUID();

  const reserved = new Set([
    'iss',
    'sub',
    'aud',
    'exp',
    'iat',
    'nbf',
    'jti',
    'token_use',
    'client_id',
    'scope',
  ]);
  for (const name of Object.keys(request.claims ?? {})) {
    if (reserved.has(name))
      throw new InvalidTokenRequestError(`claim ${name} is set by the issuer, not the caller`);
  }

  // Key order follows Cognito's tokens so decoded samples read alike.
  const payload: Record<string, unknown> = { sub };
  if (request.groups && request.groups.length > 0) payload['cognito:groups'] = [...request.groups];
  if (tokenUse === 'access') {
    Object.assign(payload, {
      iss: issuer,
      version: 2,
      client_id: clientId,
      origin_jti: randomUUID(),
      event_id: randomUUID(),
      token_use: 'access',
      scope: (request.scopes ?? ['aws.cognito.signin.user.admin']).join(' '),
      auth_time: iat,
      exp,
      iat,
      jti: randomUUID(),
      username: request.username,
    });
  } else {
    Object.assign(payload, {
      iss: issuer,
      'cognito:username': request.username,
      origin_jti: randomUUID(),
      aud: clientId,
      event_id: randomUUID(),
      token_use: 'id',
      auth_time: iat,
      exp,
      iat,
      jti: randomUUID(),
    });
  }
  if (request.notBeforeInSeconds !== undefined) payload.nbf = iat + request.notBeforeInSeconds;
  Object.assign(payload, request.claims);

  return new SignJWT(payload)
    .setProtectedHeader({ alg: LOCAL_ISSUER_ALG, kid: key.kid, typ: 'JWT' })
    .sign(key.privateKey);
}

async function generateSigningKey(): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair(LOCAL_ISSUER_ALG, { extractable: true });
  return fromPrivateJwk(await exportJWK(privateKey));
}

async function fromPrivateJwk(privateJwk: JWK): Promise<SigningKey> {
  const { kty, n, e } = privateJwk;
  if (kty !== 'RSA' || !n || !e) throw new TypeError('the signing key is not an RSA private key');
  const kid = await calculateJwkThumbprint({ kty, n, e });
  const privateKey = await importJWK({ ...privateJwk, alg: LOCAL_ISSUER_ALG }, LOCAL_ISSUER_ALG, {
    extractable: true,
  });
  if (privateKey instanceof Uint8Array) throw new TypeError('the signing key imported as a symmetric secret');
  return { kid, privateKey, publicJwk: { kty, n, e, alg: LOCAL_ISSUER_ALG, use: 'sig', kid } };
}

/**
 * One file per issuer (named by a hash of `iss`) so several local pools can share a key directory.
 * Written to a temporary name and renamed, so a crash never leaves half a key behind.
 */
async function loadOrCreateKey(keyDir: string, issuer: string): Promise<SigningKey> {
  const digest = createHash('sha256').update(issuer).digest('hex').slice(0, 16);
  const path = join(keyDir, `issuer-${digest}.jwk.json`);
  let text: string | undefined;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new SigningKeyLoadError(path, { cause: error });
  }
  if (text !== undefined) {
    try {
      const persisted = JSON.parse(text) as PersistedKey;
      return await fromPrivateJwk(persisted.privateJwk);
    } catch (error) {
      throw new SigningKeyLoadError(path, { cause: error });
    }
  }
  const { privateKey } = await generateKeyPair(LOCAL_ISSUER_ALG, { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  await mkdir(keyDir, { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  const persisted: PersistedKey = { issuer, privateJwk };
  await writeFile(temporary, `${JSON.stringify(persisted, null, 2)}\n`, { mode: 0o600 });
  await rename(temporary, path);
  return fromPrivateJwk(privateJwk);
}
