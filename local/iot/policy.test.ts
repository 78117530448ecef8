import { describe, expect, it } from 'vitest';
import { checkDevicePublish, checkDeviceSubscribe, checkTopicLimits } from './policy.js';

const THING = 'fire-lane-sensor-01';

describe('checkDevicePublish', () => {
  it.each([
    'dt/civic/jinqiao-1/fire-lane-sensor-01/occupancy',
    'dt/civic/c2/fire-lane-sensor-01/battery/level',
    'dt/civic/c2/fire-lane-sensor-01/a/b/c/d',
  ])('allows the thing its own telemetry topic %s', (topic) => {
    expect(checkDevicePublish(THING, topic)).toEqual({ allowed: true });
  });

  it.each([
    ['another thing', 'dt/civic/c1/other-sensor/occupancy'],
    ['a prefix of its name', 'dt/civic/c1/fire-lane-sensor-0/occupancy'],
    ['a command topic', 'cmd/civic/c1/fire-lane-sensor-01/display'],
    ['no signal', 'dt/civic/c1/fire-lane-sensor-01'],
    ['an empty signal', 'dt/civic/c1/fire-lane-sensor-01/'],
    ['an empty compound', 'dt/civic//fire-lane-sensor-01/occupancy'],
    ['a wildcard', 'dt/civic/+/fire-lane-sensor-01/occupancy'],
    ['a leading slash', '/dt/civic/c1/fire-lane-sensor-01/occupancy'],
    ['more than 7 slashes', 'dt/civic/c1/fire-lane-sensor-01/a/b/c/d/e'],
    ['a reserved topic', '$aws/things/fire-lane-sensor-01/shadow/update'],
  ])('denies %s', (_case, topic) => {
    expect(checkDevicePublish(THING, topic).allowed).toBe(false);
  });
});

describe('checkDeviceSubscribe', () => {
  it.each([
    'cmd/civic/c1/fire-lane-sensor-01/display',
    'cmd/civic/+/fire-lane-sensor-01/#',
    'cmd/civic/c1/fire-lane-sensor-01/+',
    'cmd/civic/c1/fire-lane-sensor-01/+/ack',
  ])('allows its own command filter %s', (filter) => {
    expect(checkDeviceSubscribe(THING, filter)).toEqual({ allowed: true });
  });

  it.each([
    ['another thing', 'cmd/civic/c1/other-sensor/#'],
    ['a wildcard thing level', 'cmd/civic/c1/+/#'],
    ['everything', '#'],
    ['all commands', 'cmd/civic/#'],
    ['telemetry', 'dt/civic/c1/fire-lane-sensor-01/#'],
    ['no command level', 'cmd/civic/c1/fire-lane-sensor-01'],
    ['a misplaced #', 'cmd/civic/#/fire-lane-sensor-01/x'],
    ['a partial-level wildcard', 'cmd/civic/c1/fire-lane-sensor-01/disp+'],
  ])('denies %s', (_case, filter) => {
    expect(checkDeviceSubscribe(THING, filter).allowed).toBe(false);
  });
});

describe('checkTopicLimits', () => {
  it('allows 256 bytes and denies 257', () => {
    expect(checkTopicLimits('a'.repeat(256)).allowed).toBe(true);
    expect(checkTopicLimits('a'.repeat(257)).allowed).toBe(false);
  });

  it('counts bytes, not characters', () => {
    expect(checkTopicLimits('区'.repeat(86)).allowed).toBe(false);
  });
});
