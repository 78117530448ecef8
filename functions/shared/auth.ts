import * as z from 'zod';

/** The roles are the user pool's groups; a token carries them in `cognito:groups`. */
export const ROLES = [
  'street-office',
  'housing-bureau',
  'property-staff',
  'committee-member',
  'owner',
  'evaluator',
  'caseworker',
] as const;
export type Role = (typeof ROLES)[number];
export const roleSchema = z.enum(ROLES);

/** Who is calling, as far as the verified token says; tenancy never comes from the request body. */
export interface Caller {
  sub: string;
  roles: Role[];
  /** Tenancy scope claims (custom attributes of the user pool), empty when absent. */
  subDistrictId?: string;
  compoundIds: string[];
  areaIds: string[];
  companyId?: string;
  ownerId?: string;
}

/**
 * API Gateway HTTP APIs hand JWT claims to Lambda as strings and flatten arrays into "[a b c]"; a raw
 * JWT (or another integration) may carry a real array. Both shapes are accepted.
 */
export const claimList = (value: unknown): string[] => {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value !== 'string' || value.trim() === '') return [];
  const trimmed = value.trim();
  const inner = trimmed.startsWith('[') && trimmed.endsWith(']') ? trimmed.slice(1, -1) : trimmed;
  return inner
    .split(/[\s,]+/)
    .map((part) => part.trim())
    .filter((part) => part !== '');
};

const optionalClaim = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

/** Builds the caller from verified claims; unknown groups are ignored rather than trusted. */
export const callerFromClaims = (claims: Record<string, unknown>): Caller | undefined => {
  const sub = optionalClaim(claims.sub);
  if (sub === undefined) return undefined;
  const roles = claimList(claims['cognito:groups']).filter((group): group is Role =>
    (ROLES as readonly string[]).includes(group),
  );
  return {
    sub,
    roles,
    subDistrictId: optionalClaim(claims['custom:subDistrictId']),
    compoundIds: claimList(claims['custom:compoundIds']),
    areaIds: claimList(claims['custom:areaIds']),
    companyId: optionalClaim(claims['custom:companyId']),
    ownerId: optionalClaim(claims['custom:ownerId']),
  };
};
