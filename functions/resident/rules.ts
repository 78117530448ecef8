/**
 * What every way of opening a case reads: the area's adoptions and the covenant versions they name, the
 * rule that binds, the area's ladder, its units; and how a new case is stored. Apart from service.ts so
 * that ingest (which opens the cases its sensors find, from-violation.ts) bundles only this.
 */
import { listAllRecords, parentKeyOf } from '../registry/store.js';
import {
  type Adoption,
  type CaseState,
  type CaseType,
  type Covenant,
  caseStatistics,
  DEFAULT_LADDERS,
  type Ladder,
  namedRuleInForce,
  type RuleLookup,
  ruleInForce,
} from './domain.js';
import { getData, keys, listData, putOnce } from './store.js';

export interface ResidentCase {
  caseId: string;
  subDistrictId: string;
  areaId: string;
  compoundId?: string;
  caseType: CaseType;
  source:
    | { kind: 'violation'; violationId: string; thingName: string }
    | { kind: 'ledger'; importedAt: string }
    | { kind: 'staff'; by: string };
  rule: Extract<RuleLookup, { ok: true }>;
  /** Whom the case concerns; where no household is known, the notices go to the building's posting board. */
  concerns: {
    unitIds: string[];
    ownerIds: string[];
    building?: string;
    floor?: number;
    postingBoard?: string;
  };
  description: string;
  observedAt: string;
  arrearsFen?: number;
  ladder: Ladder;
  state: CaseState;
  openedAt: string;
}

export const adoptionsOf = async (sd: string, areaId: string) =>
  (await listData<Adoption>(keys.areaPartition(sd, areaId), 'ADOPT#')).map(({ data }) => data);

/** The covenant versions an area's adoptions name, read once each. */
export const covenantsOf = async (sd: string, adoptions: readonly Adoption[]) => {
  const wanted = [...new Set(adoptions.map((a) => `${a.covenantId}\u0000${a.version}`))];
  const found = await Promise.all(
    wanted.map((key) => {
      const [covenantId, version] = key.split('\u0000') as [string, string];
      return getData<Covenant>(keys.covenant(sd, covenantId, Number(version)));
    }),
  );
  return found.flatMap((item) => (item === undefined ? [] : [item.data]));
};

export const ladderOf = async (sd: string, areaId: string, caseType: CaseType): Promise<Ladder> =>
  (await getData<Ladder>(keys.ladder(sd, areaId, caseType)))?.data ?? DEFAULT_LADDERS[caseType];

/** A room's floor by Chinese numbering: the digits before the last two (1203 → 12, 502 → 5). */
export const floorOfRoom = (room: string): number | undefined => {
  const match = /^(\d{1,3})(\d{2})$/.exec(room.trim());
  return match ? Number(match[1]) : undefined;
};

export const unitsOfArea = (sd: string, areaId: string) =>
  listAllRecords<{ building: string; room: string }>(parentKeyOf(sd, { kind: 'area', id: areaId }, 'unit'));

export const casesOf = async (sd: string, areaId: string) =>
  listData<ResidentCase>(keys.areaPartition(sd, areaId), 'CASE#');

/** The rule a case opens under: the named one, or the one in force for its type; refused if none binds yet. */
export const ruleFor = async (
  sd: string,
  areaId: string,
  caseType: CaseType,
  at: string,
  ruleId?: string,
) => {
  const adoptions = await adoptionsOf(sd, areaId);
  const covenants = await covenantsOf(sd, adoptions);
  const found =
    ruleId === undefined
      ? ruleInForce(adoptions, covenants, caseType, at)
      : namedRuleInForce(adoptions, covenants, ruleId, at);
  if (found.ok && found.caseType !== caseType)
    return { ok: false as const, reason: `rule ${found.ruleId} governs ${found.caseType}, not ${caseType}` };
  return found;
};

export const storeNewCase = async (record: ResidentCase) =>
  putOnce(keys.case(record.subDistrictId, record.areaId, record.caseId), record);

/** Case statistics of the area: its committee's evaluation report shows them, and a route serves them. */
export const statisticsOf = async (sd: string, areaId: string) => {
  const all = await casesOf(sd, areaId);
  return {
    areaId,
    ...caseStatistics(
      all.map(({ data }) => ({
        caseType: data.caseType,
        status: data.state.status,
        openedAt: data.openedAt,
        stepIndex: data.state.stepIndex,
        ...(data.state.closedAt === undefined ? {} : { closedAt: data.state.closedAt }),
      })),
    ),
  };
};
