import { describe, expect, it } from 'vitest';
import type { Violation } from './engine.js';
import { violationStats, violationStatsBy } from './stats.js';

const at = (minutes: number) => new Date(Date.UTC(2026, 10, 26, 8, 0, 0) + minutes * 60_000).toISOString();
const violation = (overrides: Partial<Violation>): Violation => ({
  violationId: `v-${Math.random()}`,
  scenarioId: 'fire-lane-occupied',
  scenarioVersion: 1,
  compoundId: 'xiling',
  zoneId: 'fire-lane-east',
  thingName: 's',
  severity: 'high',
  status: 'open',
  chainIndex: 0,
  openedAt: at(0),
  escalations: 0,
  steps: [],
  ...overrides,
});

describe('violationStats', () => {
  it('reports medians, p90, on-time and escalation rates and repeat locations', () => {
    const stats = violationStats([
      violation({ acknowledgedAt: at(2), ackDueAt: at(5), closedAt: at(10), status: 'closed' }),
      violation({ acknowledgedAt: at(4), ackDueAt: at(5), closedAt: at(20), status: 'closed' }),
      violation({ acknowledgedAt: at(9), ackDueAt: at(15), escalations: 1, zoneId: 'gate' }),
      violation({ zoneId: 'corridor' }),
    ]);
    expect(stats).toEqual({
      count: 4,
      closed: 2,
      timeToAcknowledge: { median: 240, p90: 540 },
      timeToClose: { median: 600, p90: 1200 },
      onTimeRate: 2 / 3,
      escalationRate: 1 / 4,
      repeatLocations: [{ zoneId: 'fire-lane-east', count: 2 }],
    });
  });

  it('has no rates for an empty period', () => {
    expect(violationStats([])).toEqual({
      count: 0,
      closed: 0,
      timeToAcknowledge: {},
      timeToClose: {},
      onTimeRate: undefined,
      escalationRate: undefined,
      repeatLocations: [],
    });
  });

  it('breaks the same statistics down by property company, compound or scenario, most violations first', () => {
    const violations = [
      violation({ companyId: 'anju', acknowledgedAt: at(2), ackDueAt: at(5) }),
      violation({ companyId: 'anju', acknowledgedAt: at(6), ackDueAt: at(5), compoundId: 'yaojiang' }),
      violation({ companyId: 'lvyuan', escalations: 1, scenarioId: 'smoke-alarm' }),
      violation({}),
    ];
    const byCompany = violationStatsBy(violations, 'company');
    expect(byCompany.map(({ key, count }) => [key, count])).toEqual([
      ['anju', 2],
      ['lvyuan', 1],
      [null, 1],
    ]);
    expect(byCompany[0]).toEqual({
      key: 'anju',
      ...violationStats(violations.slice(0, 2)),
    });
    expect(byCompany[0]?.onTimeRate).toBe(1 / 2);
    expect(byCompany[1]?.escalationRate).toBe(1);
    expect(violationStatsBy(violations, 'compound').map(({ key, count }) => [key, count])).toEqual([
      ['xiling', 3],
      ['yaojiang', 1],
    ]);
    expect(violationStatsBy(violations, 'scenario').map(({ key, count }) => [key, count])).toEqual([
      ['fire-lane-occupied', 3],
      ['smoke-alarm', 1],
    ]);
    expect(violationStatsBy([], 'company')).toEqual([]);
  });
});
