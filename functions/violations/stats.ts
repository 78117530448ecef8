/** Command-centre statistics over a set of violations: pure, so the same numbers come from any source. */
import type { Violation } from './engine.js';

export interface ViolationStats {
  count: number;
  closed: number;
  /** Seconds from opening to the first acknowledgement / to closing: median and 90th percentile. */
  timeToAcknowledge: { median?: number; p90?: number };
  timeToClose: { median?: number; p90?: number };
  /** Share of acknowledged violations acknowledged before their first deadline. */
  onTimeRate?: number;
  /** Share of violations escalated at least once. */
  escalationRate?: number;
  /** Zones with more than one violation, most first. */
  repeatLocations: { zoneId: string; count: number }[];
}

const seconds = (from: string, to: string) => (Date.parse(to) - Date.parse(from)) / 1000;

/** Nearest-rank percentile of a non-empty list. */
const percentile = (values: number[], p: number): number | undefined => {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
};

const ratio = (part: number, whole: number) => (whole === 0 ? undefined : part / whole);

export const violationStats = (violations: readonly Violation[]): ViolationStats => {
  const acknowledged = violations.filter((v) => v.acknowledgedAt !== undefined);
  const ackTimes = acknowledged.map((v) => seconds(v.openedAt, v.acknowledgedAt as string));
  const closed = violations.filter((v) => v.closedAt !== undefined);
  const closeTimes = closed.map((v) => seconds(v.openedAt, v.closedAt as string));
  // Without an escalation the deadline on record is still the first one.
  const onTime = acknowledged.filter(
    (v) =>
      v.escalations === 0 &&
      (v.ackDueAt === undefined || Date.parse(v.acknowledgedAt as string) <= Date.parse(v.ackDueAt)),
  );
  const byZone = new Map<string, number>();
  for (const v of violations)
    if (v.zoneId !== undefined) byZone.set(v.zoneId, (byZone.get(v.zoneId) ?? 0) + 1);
  return {
    count: violations.length,
    closed: closed.length,
    timeToAcknowledge: { median: percentile(ackTimes, 50), p90: percentile(ackTimes, 90) },
    timeToClose: { median: percentile(closeTimes, 50), p90: percentile(closeTimes, 90) },
    onTimeRate: ratio(onTime.length, acknowledged.length),
    escalationRate: ratio(violations.filter((v) => v.escalations > 0).length, violations.length),
    repeatLocations: [...byZone]
      .filter(([, count]) => count > 1)
      .map(([zoneId, count]) => ({ zoneId, count }))
      .sort((a, b) => b.count - a.count || a.zoneId.localeCompare(b.zoneId)),
  };
};

/** What the command centre may break statistics down by. */
export const STATS_GROUPINGS = ['compound', 'company', 'scenario'] as const;
export type StatsGrouping = (typeof STATS_GROUPINGS)[number];

const groupKey = (violation: Violation, by: StatsGrouping): string | null =>
  by === 'compound'
    ? violation.compoundId
    : by === 'scenario'
      ? violation.scenarioId
      : (violation.companyId ?? null);

/**
 * The same statistics per compound, property company or scenario, most violations first. A violation
 * whose area had no property company when it opened falls under the company `null`.
 */
export const violationStatsBy = (
  violations: readonly Violation[],
  by: StatsGrouping,
): ({ key: string | null } & ViolationStats)[] => {
  const groups = new Map<string | null, Violation[]>();
  for (const violation of violations) {
    const key = groupKey(violation, by);
    groups.set(key, [...(groups.get(key) ?? []), violation]);
  }
  return [...groups]
    .map(([key, members]) => ({ key, ...violationStats(members) }))
    .sort((a, b) => b.count - a.count || String(a.key).localeCompare(String(b.key)));
};
