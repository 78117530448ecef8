import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  type JSONWebKeySet,
  type JWTPayload,
  jwtVerify,
} from 'jose';

/** A route's JWT authorizer, as the template's `AWS::ApiGatewayV2::Authorizer` and route configure it. */
export interface JwtAuthorizerConfig {
  /** `JwtConfiguration.Issuer`: the token's `iss` must equal it exactly. */
  issuer: string;
  /** `JwtConfiguration.Audience`: the token's `aud` (or, without `aud`, its `client_id`) must be one of these. */
  audience: string[];
  /** The route's `AuthorizationScopes`: when set, the token must carry at least one of them. */
  scopes?: string[];
}

export interface JwtAuthorizerContext {
  jwt: { claims: Record<string, string>; scopes: string[] | null };
}

export type AuthorizationResult =
  | { authorized: true; context: JwtAuthorizerContext }
  | { authorized: false; status: 401 | 403; wwwAuthenticate: string; reason: string };

/** API Gateway's JWT authorizer verifies RSA signatures only. */
const RSA_ALGORITHMS = ['RS256', 'RS384', 'RS512'];

/**
 * Authorizes a request the way API Gateway's JWT authorizer does (developer guide, "Control access to HTTP
 * APIs with JWT authorizers"): token from `Authorization`, with or without `Bearer `; `kid` must name a key
 * of the issuer; RSA signature; `iss` exact; `aud`, or `client_id` when there is no `aud`; `exp` and `nbf`;
 * at least one of the route's scopes. The JWKS is looked up by the token's `iss` only after `iss` has
 * matched the configured issuer, so a foreign issuer's keys are never consulted.
 */
export async function authorizeJwt(
  config: JwtAuthorizerConfig,
  authorizationHeader: string | undefined,
  jwksFor: (issuer: string) => JSONWebKeySet | undefined,
): Promise<AuthorizationResult> {
  const routeScopes = config.scopes ?? [];
  const deny = (reason: string): AuthorizationResult => ({
    authorized: false,
    status: 401,
    reason,
    wwwAuthenticate: challenge(routeScopes, 'invalid_token', reason),
  });

  const token = authorizationHeader?.replace(/^Bearer(\s+|$)/i, '').trim();
  if (!token) return deny('the token is missing');

  let payload: JWTPayload;
  let alg: string | undefined;
  let kid: string | undefined;
  try {
    ({ alg, kid } = decodeProtectedHeader(token));
    payload = decodeJwt(token);
  } catch {
    return deny('the token is malformed');
  }
  if (!alg || !RSA_ALGORITHMS.includes(alg)) return deny(`signing method ${alg ?? 'none'} is invalid`);
  if (!kid) return deny('the token has no key id');
  if (payload.iss !== config.issuer) return deny('the token does not have a valid issuer');

  const jwks = jwksFor(config.issuer);
  if (!jwks) return deny('no signing keys are known for the issuer');
  try {
    ({ payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
      algorithms: RSA_ALGORITHMS,
      requiredClaims: ['exp'],
    }));
  } catch (error) {
    return deny(describeVerificationFailure(error));
  }

  // API Gateway checks client_id only when aud is absent; when both are present, aud decides.
  const audiences = payload.aud === undefined ? [payload.client_id] : [payload.aud].flat();
  if (!audiences.some((value) => typeof value === 'string' && config.audience.includes(value))) {
    return deny('the token does not have a valid audience');
  }

  const tokenScopes = scopesOf(payload);
  if (routeScopes.length > 0 && !tokenScopes.some((scope) => routeScopes.includes(scope))) {
    const reason = 'the token does not have a valid scope';
    return {
      authorized: false,
      status: 403,
      reason,
      wwwAuthenticate: challenge(routeScopes, 'insufficient_scope', reason),
    };
  }

  return {
    authorized: true,
    context: {
      jwt: { claims: flattenClaims(payload), scopes: routeScopes.length > 0 ? tokenScopes : null },
    },
  };
}

/**
 * Renders claims as API Gateway hands them to a payload 2.0 integration: every value a string; numbers and
 * booleans stringified; arrays as `[a b]` (space-separated inside brackets, so `cognito:groups` of
 * `["admin","guard"]` becomes `"[admin guard]"`); nested objects as JSON text; null-valued claims omitted.
 */
export function flattenClaims(payload: Record<string, unknown>): Record<string, string> {
  const claims: Record<string, string> = {};
  for (const [name, value] of Object.entries(payload)) {
    if (value === null || value === undefined) continue;
    claims[name] = renderClaim(value);
  }
  return claims;
}

function renderClaim(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(renderClaim).join(' ')}]`;
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}

/** Scopes from `scope` (OAuth, space-separated) or `scp` (string or array), as the authorizer reads them. */
function scopesOf(payload: JWTPayload): string[] {
  const raw = payload.scope ?? payload.scp;
  if (Array.isArray(raw)) return raw.filter((scope): scope is string => typeof scope === 'string');
  if (typeof raw === 'string') return raw.split(' ').filter(Boolean);
  return [];
}

function describeVerificationFailure(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'the token has expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return 'the token is not valid yet';
    if (error.claim === 'exp') return 'the token has no expiration time';
    return `the token's ${error.claim} claim is invalid`;
  }
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return 'the token was not signed by a key of the issuer';
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'the token signature is invalid';
  return 'the token is invalid';
}

/** The `www-authenticate` value in the form API Gateway uses: `Bearer scope="…" error="…" error_description="…"`. */
function challenge(routeScopes: readonly string[], error: string, description: string): string {
  return `Bearer scope="${routeScopes.join(' ')}" error="${error}" error_description="${description}"`;
}
