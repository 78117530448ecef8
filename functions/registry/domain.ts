/** Registry rules that need no I/O: what a compound is and who may see it. */
import { z } from 'zod';
import type { Caller } from '../shared/auth.js';

export const compoundIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'Lower-case letters, digits and hyphens, 2–63 characters');

export const createCompoundSchema = z
  .object({
    compoundId: compoundIdSchema,
    name: z.string().trim().min(1).max(100),
    address: z.string().trim().min(1).max(200).optional(),
  })
  .strict();
export type CreateCompound = z.infer<typeof createCompoundSchema>;

/** A street-office caller acts for exactly one sub-district, named by its token. */
export const subDistrictOf = (caller: Caller): string | undefined => caller.subDistrictId;

/** Whether a compound of the given sub-district is visible to the caller; invisible reads as not found. */
export const canSeeCompound = (
  caller: Caller,
  compound: { compoundId: string; subDistrictId: string },
): boolean => {
  if (caller.roles.includes('street-office')) return caller.subDistrictId === compound.subDistrictId;
  return caller.subDistrictId === compound.subDistrictId && caller.compoundIds.includes(compound.compoundId);
};
