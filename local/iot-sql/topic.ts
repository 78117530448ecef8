/**
 * Thrown by `topicMatches` for a filter that MQTT forbids (a `#` that is not the whole last level, a
 * `+` sharing its level, an empty filter): such a filter is a bug in the caller, not a non-match.
 */
export class InvalidTopicFilterError extends Error {
  override readonly name = 'InvalidTopicFilterError';
}

/** Returns why `filter` is not a valid MQTT topic filter, or undefined when it is. */
export function topicFilterProblem(filter: string): string | undefined {
  if (filter.length === 0) return 'the topic filter is empty';
  const levels = filter.split('/');
  for (const [i, level] of levels.entries()) {
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) {
      return "'#' must be the whole last level of the topic filter";
    }
    if (level.includes('+') && level !== '+') return "'+' must occupy a whole topic level";
  }
  return undefined;
}

/**
 * MQTT 3.1.1 topic-filter matching (section 4.7): `+` matches exactly one level (possibly empty), `#`
 * matches the parent level and any number of levels below it, and a filter that starts with a
 * wildcard does not match topics starting with `$` (such as `$aws/...`).
 */
export function topicMatches(filter: string, topic: string): boolean {
  const problem = topicFilterProblem(filter);
  if (problem !== undefined) throw new InvalidTopicFilterError(`${problem}: '${filter}'`);
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;

  const filterLevels = filter.split('/');
  const topicLevels = topic.split('/');
  for (const [i, level] of filterLevels.entries()) {
    if (level === '#') return true;
    const topicLevel = topicLevels[i];
    if (topicLevel === undefined) return false;
    if (level !== '+' && level !== topicLevel) return false;
  }
  return filterLevels.length === topicLevels.length;
}
