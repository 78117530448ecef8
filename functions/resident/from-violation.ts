/**
 * The resident-code case of a violation the sensors found, opened by the resident code's timer function
 * a minute after the violation (violation-event.ts says why).
 */
import { openCase } from './domain.js';
import { floorOfRoom, ladderOf, type ResidentCase, ruleFor, storeNewCase, unitsOfArea } from './rules.js';
import { VIOLATION_CASE_TYPES, type ViolationCaseEvent } from './violation-event.js';

/**
 * Opens the resident-code case of a violation the sensors found (corridor clutter, garbage sorting), once
 * per violation, if a rule of the area binds at the time it was observed. A corridor camera that knows
 * its building and floor names the households of that floor; otherwise the notice goes to the building's
 * (or the zone's) posting board. Returns the case id, or why none was opened.
 */
export const openCaseForViolation = async (
  input: Omit<ViolationCaseEvent, 'kind'>,
  now: string,
): Promise<{ opened: true; caseId: string } | { opened: false; reason: string }> => {
  const caseType = VIOLATION_CASE_TYPES[input.scenarioId as keyof typeof VIOLATION_CASE_TYPES];
  if (caseType === undefined) return { opened: false, reason: 'not a resident-code scenario' };
  if (input.areaId === undefined) return { opened: false, reason: 'the zone lies in no property area' };
  const sd = input.subDistrictId;
  const rule = await ruleFor(sd, input.areaId, caseType, input.observedAt);
  if (!rule.ok) return { opened: false, reason: rule.reason };
  const caseId = `v-${input.violationId}`.slice(0, 120);
  const floorUnits =
    caseType === 'corridor-clutter' && input.building !== undefined && input.floor !== undefined
      ? (await unitsOfArea(sd, input.areaId)).filter(
          (unit) => unit.data.building === input.building && floorOfRoom(unit.data.room) === input.floor,
        )
      : [];
  const ladder = await ladderOf(sd, input.areaId, caseType);
  const record: ResidentCase = {
    caseId,
    subDistrictId: sd,
    areaId: input.areaId,
    compoundId: input.compoundId,
    caseType,
    source: { kind: 'violation', violationId: input.violationId, thingName: input.thingName },
    rule,
    concerns: {
      unitIds: floorUnits.map((unit) => unit.id).sort(),
      ownerIds: [...new Set(floorUnits.flatMap((unit) => unit.ownerIds ?? []))].sort(),
      ...(input.building === undefined ? {} : { building: input.building }),
      ...(input.floor === undefined ? {} : { floor: input.floor }),
      ...(floorUnits.length === 0 ? { postingBoard: input.building ?? input.zoneId } : {}),
    },
    description: `Found by ${input.thingName} (${input.scenarioId})`,
    observedAt: input.observedAt,
    ladder,
    state: openCase(ladder, now, `device:${input.thingName}`, `violation ${input.violationId}`),
    openedAt: now,
  };
  await storeNewCase(record);
  return { opened: true, caseId };
};
