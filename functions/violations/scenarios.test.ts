import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { DEVICE_TYPES } from '../registry/domain.js';
import {
  applyOverride,
  chainStepSchema,
  matchPredicate,
  predicateSchema,
  SCENARIO_DOMAINS,
  SCENARIOS,
  type Scenario,
  type ScenarioOverride,
  scenarioOverrideSchema,
  scenarioSchema,
  scenariosFor,
} from './scenarios.js';

const byId = (id: string): Scenario => {
  const scenario = SCENARIOS.find((s) => s.scenarioId === id);
  if (!scenario) throw new Error(`no scenario ${id}`);
  return structuredClone(scenario);
};

const zodIssues = (fn: () => unknown): z.core.$ZodIssue[] => {
  try {
    fn();
  } catch (error) {
    if (error instanceof z.ZodError) return error.issues;
    throw error;
  }
  throw new Error('expected a ZodError');
};

describe('SCENARIOS', () => {
  it.each(SCENARIOS.map((s) => [s.scenarioId, s] as const))('%s passes the schema', (_id, scenario) => {
    expect(scenarioSchema.safeParse(scenario).error?.issues).toBeUndefined();
  });

  it('holds at least 12 scenarios with unique ids across all four domains', () => {
    expect(SCENARIOS.length).toBeGreaterThanOrEqual(12);
    expect(new Set(SCENARIOS.map((s) => s.scenarioId)).size).toBe(SCENARIOS.length);
    expect(new Set(SCENARIOS.map((s) => s.domain))).toEqual(new Set(SCENARIO_DOMAINS));
  });

  it.each([
    ['fire-lane-occupied', 'security', 'geomagnetic-sensor', 'occupancy', 'sustained'],
    ['safety-passage-occupied', 'security', 'geomagnetic-sensor', 'occupancy', 'sustained'],
    ['smoke-alarm', 'security', 'smoke-detector', 'alarm', 'instant'],
    ['e-bike-in-elevator', 'security', 'elevator-camera', 'event', 'instant'],
    ['gate-forced-open', 'security', 'gate', 'state', 'instant'],
    ['gate-held-open', 'security', 'gate', 'state', 'sustained'],
    ['corridor-clutter', 'governance', 'camera', 'event', 'instant'],
    ['garbage-sorting', 'governance', 'smart-bin', 'event', 'instant'],
    ['street-light-fault', 'governance', 'street-light', 'status', 'instant'],
    ['charger-fault', 'governance', 'charger', 'status', 'instant'],
    ['device-silent', 'governance', 'gate', 'heartbeat', 'absence'],
    ['parking-guidance', 'governance', 'geomagnetic-sensor', 'occupancy', 'instant'],
    ['no-water-use', 'elderly-care', 'water-meter', 'usage', 'absence'],
    ['emergency-button', 'elderly-care', 'emergency-button', 'pressed', 'instant'],
    ['shopfront-road-occupied', 'commerce', 'camera', 'event', 'sustained'],
  ] as const)('%s: %s, %s/%s, %s', (id, domain, deviceType, signal, kind) => {
    const scenario = byId(id);
    expect(scenario.domain).toBe(domain);
    expect(scenario.deviceTypes).toContain(deviceType);
    expect(scenario.signal).toBe(signal);
    expect(scenario.condition.kind).toBe(kind);
  });

  it('fixes the headline details', () => {
    expect(byId('fire-lane-occupied')).toMatchObject({
      condition: { kind: 'sustained', graceSeconds: 300 },
      clearsWhen: { field: 'occupied', equals: false },
      autoVerifyOnClear: true,
    });
    expect(byId('gate-held-open').condition).toMatchObject({ graceSeconds: 120 });
    expect(byId('shopfront-road-occupied').condition).toMatchObject({ graceSeconds: 600 });
    expect(byId('e-bike-in-elevator').command).toEqual({ command: 'hold-doors', payload: { seconds: 60 } });
    expect(byId('device-silent')).toMatchObject({ condition: { signals: ['heartbeat'], forSeconds: 3600 } });
    expect(byId('device-silent').deviceTypes).toEqual([...DEVICE_TYPES]);
    expect(byId('device-silent').chain[0]?.assignee).toBe('maintenance');
    expect(byId('no-water-use')).toMatchObject({ condition: { forSeconds: 86400 } });
    expect(byId('parking-guidance').guidance).toBe(true);
    expect(byId('smoke-alarm').severity).toBe('critical');
    expect(
      byId('smoke-alarm')
        .chain.slice(0, 2)
        .map((s) => s.assignee),
    ).toContain('command-centre');
  });

  it('escalates security chains guard → manager → command centre → enforcement, elderly care via caseworker', () => {
    const ladder = ['property-guard', 'property-manager', 'command-centre', 'law-enforcement'];
    for (const id of ['fire-lane-occupied', 'safety-passage-occupied', 'gate-forced-open', 'charger-fault']) {
      expect(byId(id).chain.map((s) => s.assignee)).toEqual(ladder);
    }
    for (const id of ['no-water-use', 'emergency-button']) {
      expect(byId(id).chain.map((s) => s.assignee)).toEqual(['caseworker', 'command-centre']);
    }
    for (const scenario of SCENARIOS) {
      const order = scenario.chain.map((s) => ladder.indexOf(s.assignee)).filter((i) => i >= 0);
      expect(order, scenario.scenarioId).toEqual([...order].sort((a, b) => a - b));
    }
  });
});

describe('scenarioSchema', () => {
  it.each([
    ['an unknown field', { colour: 'red' }, ['colour']],
    ['no device type', { deviceTypes: [] }, ['deviceTypes']],
    ['an unknown device type', { deviceTypes: ['toaster'] }, ['deviceTypes', 0]],
    ['an empty chain', { chain: [] }, ['chain']],
    [
      'six chain steps',
      { chain: Array(6).fill({ assignee: 'maintenance', ackSeconds: 1, handleSeconds: 1 }) },
      ['chain'],
    ],
    [
      'a negative grace',
      { condition: { kind: 'sustained', when: { field: 'x', equals: 1 }, graceSeconds: -1 } },
      ['condition', 'graceSeconds'],
    ],
    ['clearsWhen on an absence', { clearsWhen: { field: 'x', equals: 1 } }, ['clearsWhen']],
    ['version 0', { version: 0 }, ['version']],
  ])('rejects %s', (_name, patch, path) => {
    const base = { ...byId('device-silent'), ...patch };
    const result = scenarioSchema.safeParse(base);
    expect(result.success).toBe(false);
    const paths = result.error?.issues.map((issue) =>
      issue.code === 'unrecognized_keys' ? [...issue.path, ...issue.keys] : issue.path,
    );
    expect(paths).toContainEqual(path);
  });

  it('rejects a guidance scenario with a sustained condition', () => {
    const scenario = { ...byId('fire-lane-occupied'), guidance: true };
    expect(scenarioSchema.safeParse(scenario).error?.issues[0]?.path).toEqual(['condition', 'kind']);
  });

  it.each([
    ['no operator', { field: 'occupied' }, 'at least one of'],
    ['an unknown operator', { field: 'occupied', is: true }, 'Unrecognized key'],
    ['an empty field', { field: '', equals: 1 }, 'dot path'],
    ['a numeric bound that is a string', { field: 'x', gt: '3' }, 'expected number'],
  ])('predicateSchema rejects %s', (_name, predicate, message) => {
    expect(predicateSchema.safeParse(predicate).error?.message).toContain(message);
  });

  it('accepts equals null as an operator', () => {
    expect(predicateSchema.safeParse({ field: 'x', equals: null }).success).toBe(true);
  });

  it('chainStepSchema wants handling no earlier than acknowledging', () => {
    const result = chainStepSchema.safeParse({ assignee: 'caseworker', ackSeconds: 600, handleSeconds: 60 });
    expect(result.error?.issues[0]?.path).toEqual(['handleSeconds']);
  });
});

describe('matchPredicate', () => {
  const fields = {
    occupied: true,
    battery: { level: 42, tags: ['a', 'b'] },
    state: 'fault',
    text: '5',
    n: null,
  };
  it.each([
    [{ field: 'occupied', equals: true }, true],
    [{ field: 'occupied', equals: 'true' }, false],
    [{ field: 'battery.level', gte: 42, lt: 50 }, true],
    [{ field: 'battery.level', gt: 42 }, false],
    [{ field: 'battery.level', lte: 41 }, false],
    [{ field: 'battery.tags', equals: ['a', 'b'] }, true],
    [{ field: 'battery.tags.1', equals: 'b' }, true],
    [{ field: 'battery', equals: { tags: ['a', 'b'], level: 42 } }, true],
    [{ field: 'battery', equals: { level: 42 } }, false],
    [{ field: 'state', in: ['fault', 'flying-wire'] }, true],
    [{ field: 'state', in: ['ok'] }, false],
    [{ field: 'text', gt: 3 }, false],
    [{ field: 'n', equals: null }, true],
    [{ field: 'missing', equals: null }, false],
    [{ field: 'battery.level.deeper', equals: 42 }, false],
    [{ field: 'constructor', equals: {} }, false],
    [{ field: 'battery.__proto__', equals: {} }, false],
  ] as const)('%j → %s', (predicate, expected) => {
    expect(matchPredicate(predicateSchema.parse(predicate), fields)).toBe(expected);
  });

  it('equals holds for any JSON value against a deep copy of itself, under any nesting path', () => {
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.array(fc.stringMatching(/^[a-z]{1,5}$/), { minLength: 1, maxLength: 3 }),
        (value, path) => {
          const fields = path.reduceRight<unknown>(
            (inner, key) => ({ [key]: inner }),
            structuredClone(value),
          );
          expect(
            matchPredicate(
              { field: path.join('.'), equals: value as never },
              fields as Record<string, unknown>,
            ),
          ).toBe(true);
        },
      ),
    );
  });

  it('numeric comparisons never hold for a value that is not a number', () => {
    fc.assert(
      fc.property(
        fc.jsonValue().filter((v) => typeof v !== 'number'),
        fc.constantFrom('gt', 'gte', 'lt', 'lte'),
        fc.double({ noNaN: true }),
        (value, op, bound) => {
          expect(matchPredicate({ field: 'x', [op]: bound }, { x: value })).toBe(false);
        },
      ),
    );
  });
});

describe('scenariosFor', () => {
  const ids = (scenarios: Scenario[]) => scenarios.map((s) => s.scenarioId).sort();

  it.each([
    [
      'geomagnetic-sensor',
      'occupancy',
      undefined,
      ['fire-lane-occupied', 'parking-guidance', 'safety-passage-occupied'],
    ],
    ['geomagnetic-sensor', 'occupancy', 'fire-lane', ['fire-lane-occupied']],
    ['geomagnetic-sensor', 'occupancy', 'parking-space', ['parking-guidance']],
    ['camera', 'event', 'shopfront', ['shopfront-road-occupied']],
    ['gate', 'state', 'entrance', ['gate-forced-open', 'gate-held-open']],
    ['smoke-detector', 'heartbeat', undefined, ['device-silent']],
    ['water-meter', 'usage', 'residence', ['no-water-use']],
    ['toaster', 'occupancy', undefined, []],
    ['gate', 'occupancy', undefined, []],
  ])('%s/%s in %s', (deviceType, signal, zoneKind, expected) => {
    expect(ids(scenariosFor(deviceType, signal, SCENARIOS, zoneKind))).toEqual(expected);
  });

  it('defaults to the catalogue and accepts another list', () => {
    expect(scenariosFor('gate', 'state')).toHaveLength(2);
    expect(scenariosFor('gate', 'state', [])).toEqual([]);
  });
});

describe('scenario overrides', () => {
  it.each([
    ['a negative grace', 'fire-lane-occupied', { graceSeconds: -1 }, ['graceSeconds'], 'cannot be negative'],
    ['a fractional grace', 'fire-lane-occupied', { graceSeconds: 1.5 }, ['graceSeconds'], 'whole number'],
    ['an empty chain', 'fire-lane-occupied', { chain: [] }, ['chain'], 'at least one step'],
    ['an unknown field', 'fire-lane-occupied', { grace: 60 }, [], 'Unrecognized key'],
    [
      'grace on an instant scenario',
      'smoke-alarm',
      { graceSeconds: 60 },
      ['graceSeconds'],
      'only to sustained',
    ],
    [
      'grace on an absence scenario',
      'device-silent',
      { graceSeconds: 60 },
      ['graceSeconds'],
      'only to sustained',
    ],
    [
      'forSeconds on a sustained scenario',
      'gate-held-open',
      { forSeconds: 60 },
      ['forSeconds'],
      'only to absence',
    ],
    ['a zero forSeconds', 'no-water-use', { forSeconds: 0 }, ['forSeconds'], 'positive'],
    [
      'an unknown assignee',
      'smoke-alarm',
      { chain: [{ assignee: 'mayor', ackSeconds: 1, handleSeconds: 1 }] },
      ['chain', 0, 'assignee'],
      'Invalid option',
    ],
    ['an unknown severity', 'smoke-alarm', { severity: 'apocalyptic' }, ['severity'], 'Invalid option'],
  ])('rejects %s with its path', (_name, id, override, path, message) => {
    const issues = zodIssues(() => applyOverride(byId(id), override as ScenarioOverride));
    expect(issues.map((issue) => issue.path)).toContainEqual(path);
    expect(issues.map((issue) => issue.message).join('; ')).toContain(message);
  });

  it('the generic override schema knows nothing of the scenario, but is strict', () => {
    expect(scenarioOverrideSchema.safeParse({ graceSeconds: 60 }).success).toBe(true);
    expect(scenarioOverrideSchema.safeParse({ version: 2 }).success).toBe(false);
  });

  it('tunes grace, chain, severity and enabled; keeps the catalogue version and records the override', () => {
    const base = byId('fire-lane-occupied');
    const chain = [{ assignee: 'property-guard' as const, ackSeconds: 60, handleSeconds: 600 }];
    const tuned = applyOverride(base, { graceSeconds: 600, chain, severity: 'critical', enabled: true });
    expect(tuned).toMatchObject({
      version: base.version,
      condition: {
        kind: 'sustained',
        graceSeconds: 600,
        when: base.condition.kind === 'sustained' && base.condition.when,
      },
      chain,
      severity: 'critical',
      enabled: true,
      override: { graceSeconds: 600, chain, severity: 'critical', enabled: true },
    });
    expect(scenarioSchema.parse(tuned)).toEqual(tuned);
    expect(base.condition).toMatchObject({ graceSeconds: 300 });
  });

  it('tunes forSeconds of an absence, and a second override merges into the first', () => {
    const once = applyOverride(byId('no-water-use'), { forSeconds: 43200 });
    const twice = applyOverride(once, { enabled: false });
    expect(twice.condition).toMatchObject({ kind: 'absence', forSeconds: 43200 });
    expect(twice.override).toEqual({ forSeconds: 43200, enabled: false });
    expect(twice.enabled).toBe(false);
  });

  it('an empty override changes nothing but the record of it', () => {
    const base = byId('smoke-alarm');
    expect(applyOverride(base, {})).toEqual({ ...base, override: {} });
  });
});
