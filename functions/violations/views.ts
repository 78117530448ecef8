/** How a violation is shown, and loaded within the caller's tenancy: shared by the read and write routes. */
import type { Caller } from '../shared/auth.js';
import { NotFoundError } from '../shared/errors.js';
import type { Violation } from './engine.js';
import type { WorkOrder } from './loop.js';
import { getViolation as readViolation, type StoredViolation } from './store.js';

export const present = (stored: StoredViolation<Violation, WorkOrder>) => ({
  ...stored.violation,
  subDistrictId: stored.subDistrictId,
  workOrders: stored.workOrders,
  version: stored.version,
});

/** A violation the caller may see: its sub-district, and for company staff only work orders sent to them. */
export const loadViolation = async (
  caller: Caller,
  violationId: string,
): Promise<StoredViolation<Violation, WorkOrder>> => {
  const stored = await readViolation<Violation, WorkOrder>(violationId);
  if (stored === undefined || stored.subDistrictId !== caller.subDistrictId)
    throw new NotFoundError(`No violation ${violationId}.`);
  if (!caller.roles.includes('street-office') && !caller.compoundIds.includes(stored.compoundId)) {
    throw new NotFoundError(`No violation ${violationId}.`);
  }
  return stored;
};
