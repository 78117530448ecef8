/**
 * Registry rules that need no I/O: the resources of a sub-district (compounds, property areas,
 * buildings, units, owners, property companies and their contracts, staff, owners' committees,
 * caseworkers, zones, devices), their input schemas, and who may see or change what.
 *
 * Tenancy is decided on each record's ancestry (sub-district, compound, area, company, owners) against
 * the caller's verified claims, so no request body can widen what a caller reaches.
 */
import * as z from 'zod';
import type { Caller, Role } from '../shared/auth.js';

export const KINDS = [
  'compound',
  'area',
  'building',
  'unit',
  'owner',
  'company',
  'contract',
  'staff',
  'committee',
  'caseworker',
  'zone',
  'device',
] as const;
export type Kind = (typeof KINDS)[number];

/** Where a record sits in the sub-district; every record carries its whole ancestry. */
export interface Ancestry {
  subDistrictId: string;
  compoundId?: string;
  areaId?: string;
  companyId?: string;
  ownerIds?: string[];
}

export const slugSchema = z
  .string()
  .trim()
  .regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'Lower-case letters, digits and hyphens, 2–63 characters');
export const compoundIdSchema = slugSchema;
export const thingNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9:_-]{1,128}$/, 'Letters, digits, colon, underscore, hyphen (1–128)');
const name = z.string().trim().min(1).max(100);
const isoDate = z.iso.date();
const latLon = z.object({ lat: z.number().min(-90).max(90), lon: z.number().min(-180).max(180) }).strict();

export const ZONE_KINDS = [
  'fire-lane',
  'safety-passage',
  'parking-space',
  'charging-area',
  'entrance',
  'elevator',
  'shopfront',
  'corridor',
  'garbage-point',
  'street-light',
  'residence',
  'other',
] as const;

export const DEVICE_TYPES = [
  'geomagnetic-sensor',
  'smoke-detector',
  'elevator-camera',
  'gate',
  'camera',
  'smart-bin',
  'street-light',
  'charger',
  'water-meter',
  'emergency-button',
  'guidance-screen',
  'handheld',
] as const;

export const createCompoundSchema = z
  .object({ compoundId: compoundIdSchema, name, address: z.string().trim().min(1).max(200).optional() })
  .strict();
export const updateCompoundSchema = z
  .object({ name: name.optional(), address: z.string().trim().min(1).max(200).optional() })
  .strict();

export const createAreaSchema = z.object({ areaId: slugSchema, name }).strict();
export const updateAreaSchema = z.object({ name: name.optional() }).strict();

export const createBuildingSchema = z
  .object({
    building: z.string().trim().min(1).max(20),
    floors: z.number().int().min(1).max(200).optional(),
    position: latLon.optional(),
  })
  .strict();

export const updateUnitSchema = z
  .object({ developerHeld: z.boolean().optional(), note: z.string().trim().max(500).optional() })
  .strict();

export const createCompanySchema = z
  .object({ companyId: slugSchema, name, licence: z.string().trim().max(50).optional() })
  .strict();

export const createContractSchema = z
  .object({
    companyId: slugSchema,
    startsOn: isoDate,
    endsOn: isoDate,
    feePerSquareMetreFen: z.number().int().min(0).max(100_000),
  })
  .strict()
  .refine((contract) => contract.endsOn > contract.startsOn, {
    message: 'endsOn must be after startsOn',
    path: ['endsOn'],
  });

export const createStaffSchema = z
  .object({
    staffId: slugSchema,
    name,
    role: z.enum(['guard', 'manager']),
    handheldThing: thingNameSchema.optional(),
    areaIds: z.array(slugSchema).max(50).default([]),
  })
  .strict();

export const createCommitteeSchema = z
  .object({
    termStartsOn: isoDate,
    termEndsOn: isoDate,
    members: z
      .array(
        z
          .object({
            name,
            role: z.enum(['chair', 'vice-chair', 'member']),
            ownerId: z.string().max(80).optional(),
          })
          .strict(),
      )
      .min(1)
      .max(15),
  })
  .strict()
  .refine((committee) => committee.termEndsOn > committee.termStartsOn, {
    message: 'termEndsOn must be after termStartsOn',
    path: ['termEndsOn'],
  });

export const createCaseworkerSchema = z
  .object({ caseworkerId: slugSchema, name, compoundIds: z.array(compoundIdSchema).min(1).max(50) })
  .strict();

export const createZoneSchema = z
  .object({
    zoneId: slugSchema,
    kind: z.enum(ZONE_KINDS),
    name,
    areaId: slugSchema.optional(),
    building: z.string().trim().max(20).optional(),
    position: latLon,
    description: z.string().trim().max(200).optional(),
  })
  .strict();

export const registerDeviceSchema = z
  .object({
    thingName: thingNameSchema.optional(),
    type: z.enum(DEVICE_TYPES),
    zoneId: slugSchema,
    building: z.string().trim().max(20).optional(),
    /** The floor a corridor camera or a bin watches (negative below ground): a resident-code case names its households. */
    floor: z.number().int().min(-10).max(200).optional(),
    position: latLon,
    installedAt: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();

/** Who may read and who may change each kind of record (beyond the tenancy check). */
export const PERMISSIONS: Record<Kind, { read: readonly Role[]; write: readonly Role[] }> = {
  compound: {
    read: ['street-office', 'property-staff', 'committee-member', 'owner', 'caseworker'],
    write: ['street-office'],
  },
  area: {
    read: ['street-office', 'property-staff', 'committee-member', 'owner', 'caseworker'],
    write: ['street-office'],
  },
  building: {
    read: ['street-office', 'property-staff', 'committee-member', 'owner', 'caseworker'],
    write: ['street-office'],
  },
  unit: {
    read: ['street-office', 'property-staff', 'committee-member', 'owner', 'caseworker'],
    write: ['street-office', 'committee-member'],
  },
  owner: {
    read: ['street-office', 'committee-member', 'owner', 'caseworker'],
    write: ['street-office', 'committee-member'],
  },
  company: { read: ['street-office', 'property-staff'], write: ['street-office'] },
  contract: { read: ['street-office', 'property-staff', 'committee-member'], write: ['street-office'] },
  staff: { read: ['street-office', 'property-staff'], write: ['street-office', 'property-staff'] },
  committee: { read: ['street-office', 'committee-member', 'owner'], write: ['street-office'] },
  caseworker: { read: ['street-office', 'caseworker'], write: ['street-office'] },
  zone: {
    read: ['street-office', 'property-staff', 'committee-member', 'caseworker'],
    write: ['street-office'],
  },
  device: { read: ['street-office', 'property-staff'], write: ['street-office', 'property-staff'] },
};

const has = (list: readonly string[], value: string | undefined) =>
  value !== undefined && list.includes(value);

/**
 * Whether the record lies inside the caller's tenancy. Every role is bound to its sub-district; below
 * that, the office sees everything, a company's staff its company and the areas and compounds it
 * serves, committee members their areas, owners their own units and records, caseworkers their
 * compounds.
 */
export const inTenancy = (caller: Caller, record: Ancestry & { kind: Kind; id: string }): boolean => {
  if (caller.subDistrictId === undefined || caller.subDistrictId !== record.subDistrictId) return false;
  const roles = caller.roles;
  if (roles.includes('street-office')) return true;
  const inArea = has(caller.areaIds, record.areaId);
  const inCompound = has(caller.compoundIds, record.compoundId);
  const areaLevel = record.areaId !== undefined;
  return roles.some((role) => {
    switch (role) {
      case 'property-staff':
        if (record.kind === 'company' || record.kind === 'staff')
          return has([caller.companyId ?? ''], record.companyId);
        return areaLevel ? inArea : inCompound;
      case 'committee-member':
        return areaLevel ? inArea : inCompound;
      case 'owner':
        if (record.kind === 'unit') return has(record.ownerIds ?? [], caller.ownerId);
        if (record.kind === 'owner') return record.id === caller.ownerId;
        return areaLevel ? inArea : inCompound;
      case 'caseworker':
        if (record.kind === 'caseworker') return record.id === caller.sub;
        return inCompound;
      default:
        return false;
    }
  });
};

export const canRead = (caller: Caller, kind: Kind) =>
  caller.roles.some((role) => PERMISSIONS[kind].read.includes(role));
export const canWrite = (caller: Caller, kind: Kind) =>
  caller.roles.some((role) => PERMISSIONS[kind].write.includes(role));

/** Phone numbers in lists show only the first three and last four digits. */
export const maskPhone = (phone: string | undefined): string | undefined =>
  phone === undefined ? undefined : phone.length >= 7 ? `${phone.slice(0, 3)}****${phone.slice(-4)}` : '****';

/** ETags are the record version, quoted; `If-Match: *` matches any version. */
export const parseIfMatch = (header: string | undefined): number | '*' | undefined => {
  if (header === undefined) return undefined;
  const trimmed = header.trim();
  if (trimmed === '*') return '*';
  const match = /^(?:W\/)?"(\d+)"$/.exec(trimmed);
  return match ? Number(match[1]) : Number.NaN;
};
