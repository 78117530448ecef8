/**
 * Who is in fee arrears by the area's imported fee ledger. Its own module, so the meetings feature can
 * ask without bundling the rest of the resident code.
 */
import { getRecord } from '../registry/store.js';
import type { LedgerRecord } from './service.js';
import { keys, listData } from './store.js';

/**
 * The owners among `ownerIds` in fee arrears in the area by its ledger: the meetings feature asks before
 * it lets an owner stand for the committee.
 */
export const ownersInArrears = async (
  sd: string,
  areaId: string,
  ownerIds: readonly string[],
): Promise<Set<string>> => {
  if (ownerIds.length === 0) return new Set();
  const ledger = await listData<LedgerRecord>(keys.ledgerPartition(sd, areaId));
  const owing = new Set(ledger.filter(({ data }) => data.arrearsFen > 0).map(({ data }) => data.unitId));
  if (owing.size === 0) return new Set();
  const owners = await Promise.all(
    ownerIds.map((ownerId) => getRecord<{ unitIds?: string[] }>(sd, 'owner', ownerId)),
  );
  return new Set(
    owners.flatMap((owner, i) =>
      owner !== undefined && (owner.data.unitIds ?? []).some((unitId) => owing.has(unitId))
        ? [ownerIds[i] as string]
        : [],
    ),
  );
};
