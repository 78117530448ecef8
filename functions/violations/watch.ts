/**
 * What other features ask of the closed loop: the scenarios a compound runs, and the silence watch a
 * newly registered device starts with. Apart from loop.ts, which reads the Scheduler's and the IoT
 * data plane's configuration at cold start: the registry's functions import this and have neither.
 */
import type { DeviceDirectoryEntry } from '../registry/store.js';
import { absenceDueAt, watchForSilence } from './engine.js';
import {
  appliesToZone,
  applyOverride,
  SCENARIOS,
  type Scenario,
  type ScenarioOverride,
} from './scenarios.js';
import { clearConditions, getOverrides, putCondition } from './store.js';

/** The scenarios a compound runs: the catalogue with the street office's overrides applied. */
export const effectiveScenarios = async (subDistrictId: string, compoundId: string): Promise<Scenario[]> => {
  const overrides = await getOverrides(subDistrictId, compoundId);
  return SCENARIOS.map((scenario) => {
    const stored = overrides.get(scenario.scenarioId);
    return stored === undefined ? scenario : applyOverride(scenario, stored.override as ScenarioOverride);
  });
};

/**
 * Starts a newly registered device's absence conditions (device silent, and no water use for a meter
 * in a residence) as of `now`, and lists them for the absence sweep: a device that never reports is
 * then found silent like one that stopped (a presence message lists a condition too, from its own
 * time). Whatever an earlier device of the same thing name left (names are reused after
 * decommissioning) — conditions of every scenario, watermarks — is deleted first. Returns the scenarios
 * watched.
 */
export const watchNewDevice = async (device: DeviceDirectoryEntry, now: string): Promise<string[]> => {
  const scenarios = (await effectiveScenarios(device.subDistrictId, device.compoundId)).filter(
    (scenario) =>
      scenario.condition.kind === 'absence' &&
      (scenario.deviceTypes as readonly string[]).includes(device.type) &&
      appliesToZone(scenario, device.zoneKind),
  );
  await clearConditions(device.thingName);
  await Promise.all(
    scenarios.map(async (scenario) => {
      const state = watchForSilence(scenario, device.thingName, now);
      await putCondition(device.thingName, scenario.scenarioId, state, 0, absenceDueAt(scenario, state));
    }),
  );
  return scenarios.map(({ scenarioId }) => scenarioId);
};
