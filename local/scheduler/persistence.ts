import { type DurableState, STATE_TABLES } from '../durable-state.js';
import type { SchedulePersistence, StoredSchedule } from './store.js';

const SCHEDULE = 'schedule#';
const CLOCK = { pk: 'clock', sk: 'offset' };

/**
 * EventBridge Scheduler's schedules in DynamoDB Local (one item per group and name), and the cloud
 * clock's offset beside them: the schedules' times are read on that clock, so it must not fall back to
 * real time at a restart while the schedules and the data stay where it had moved them.
 */
export class DurableSchedules implements SchedulePersistence {
  constructor(private readonly state: DurableState) {}

  async load(): Promise<{ schedules: StoredSchedule[]; clockOffsetMs: number }> {
    const items = await this.state.scan(STATE_TABLES.scheduler);
    const schedules = items
      .filter((item) => item.pk.startsWith(SCHEDULE))
      .map(({ pk: _pk, sk: _sk, ...schedule }) => schedule as unknown as StoredSchedule);
    const clock = items.find((item) => item.pk === CLOCK.pk && item.sk === CLOCK.sk);
    return { schedules, clockOffsetMs: Number(clock?.offsetMs ?? 0) };
  }

  put(schedule: StoredSchedule): Promise<void> {
    return this.state.put(STATE_TABLES.scheduler, {
      ...schedule,
      pk: `${SCHEDULE}${schedule.groupName}`,
      sk: schedule.name,
    });
  }

  remove(groupName: string, name: string): Promise<void> {
    return this.state.delete(STATE_TABLES.scheduler, { pk: `${SCHEDULE}${groupName}`, sk: name });
  }

  saveClock(offsetMs: number): Promise<void> {
    return this.state.put(STATE_TABLES.scheduler, { ...CLOCK, offsetMs });
  }
}
