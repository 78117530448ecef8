import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidTopicFilterError, topicMatches } from './index.js';

/** Reference: MQTT filters as regular expressions, a different technique from the level walk under test. */
function referenceMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && /^[+#]/.test(filter)) return false;
  const escapeRegExp = (level: string) => level.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const levels = filter.split('/');
  const last = levels.at(-1);
  const body = (last === '#' ? levels.slice(0, -1) : levels)
    .map((l) => (l === '+' ? '[^/]*' : escapeRegExp(l)))
    .join('/');
  if (last !== '#') return new RegExp(`^${body}$`).test(topic);
  return levels.length === 1 ? true : new RegExp(`^${body}(/.*)?$`).test(topic);
}

describe('topicMatches', () => {
  it.each([
    ['dt/civic/+/+/+', 'dt/civic/c1/t1/occupancy', true],
    ['dt/civic/+/+/+', 'dt/civic/c1/t1', false],
    ['dt/civic/+/+/+', 'dt/civic/c1/t1/occupancy/extra', false],
    ['dt/civic/+/+/+', 'dt/civic//t1/occupancy', true],
    ['dt/civic/+/+/+', 'DT/civic/c1/t1/occupancy', false],
    ['a/b', 'a/b', true],
    ['a/b', 'a/b/', false],
    ['a/b/', 'a/b/', true],
    ['a/+', 'a/', true],
    ['a/+', 'a', false],
    ['+', 'a', true],
    ['+', '/a', false],
    ['+/+', '/a', true],
    ['/+', '/a', true],
    ['a/#', 'a', true],
    ['a/#', 'a/b/c', true],
    ['a/#', 'ab', false],
    ['a/+/#', 'a/b', true],
    ['a/+/#', 'a', false],
    ['#', 'a/b/c', true],
    ['#', '/', true],
    ['#', '$aws/things/t/shadow/update', false],
    ['+/things/#', '$aws/things/t', false],
    ['$aws/things/+/shadow/update', '$aws/things/t1/shadow/update', true],
    ['$aws/#', '$aws/events/presence/connected/t1', true],
  ])('%s matches %s: %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });

  it.each([[''], ['a/#/b'], ['a#'], ['a/b+'], ['+a/b'], ['##']])(
    'throws for the invalid filter %j',
    (filter) => {
      expect(() => topicMatches(filter, 'a/b')).toThrow(InvalidTopicFilterError);
    },
  );

  const level = fc.constantFrom('a', 'b', 'dt', 'civic', '', '$aws', 'x y', 'ü');
  const topicArb = fc.array(level, { minLength: 1, maxLength: 6 }).map((levels) => levels.join('/'));
  const filterLevel = fc.oneof(level, fc.constant('+'));
  const filterArb = fc
    .tuple(fc.array(filterLevel, { minLength: 1, maxLength: 6 }), fc.boolean())
    .map(([levels, hash]) => (hash ? [...levels, '#'] : levels).join('/'))
    .filter((filter) => filter !== '');

  it('agrees with the regular-expression reference on random filters and topics', () => {
    fc.assert(
      fc.property(filterArb, topicArb, (filter, topic) => {
        expect(topicMatches(filter, topic)).toBe(referenceMatches(filter, topic));
      }),
      { numRuns: 2000 },
    );
  });

  it('matches every topic against a filter derived from it by wildcards, $-topics aside', () => {
    const derived = topicArb.chain((topic) =>
      fc
        .tuple(fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }), fc.nat({ max: 6 }), fc.boolean())
        .map(([plus, cut, hash]) => {
          const levels = topic.split('/').map((l, i) => (plus[i] ? '+' : l));
          const kept = hash ? [...levels.slice(0, Math.min(cut, levels.length)), '#'] : levels;
          return { topic, filter: kept.join('/') };
        }),
    );
    fc.assert(
      fc.property(
        derived.filter(({ filter }) => filter !== ''),
        ({ topic, filter }) => {
          const dollarShadowed = topic.startsWith('$') && /^[+#]/.test(filter);
          expect(topicMatches(filter, topic)).toBe(!dollarShadowed);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
