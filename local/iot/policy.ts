/**
 * The per-thing rule of the deployed IoT policy (`${iot:Connection.Thing.ThingName}`), as pure functions the
 * local broker applies: a device publishes telemetry only under its own thing name and subscribes only to
 * its own commands. Also AWS IoT Core's topic limits, so a topic that AWS would refuse fails locally too.
 */

/** AWS IoT Core: a topic or filter has at most 7 forward slashes and 256 UTF-8 bytes. */
export const MAX_TOPIC_SLASHES = 7;
export const MAX_TOPIC_BYTES = 256;

export type PolicyDecision = { allowed: true } | { allowed: false; reason: string };

const ALLOW: PolicyDecision = { allowed: true };
const deny = (reason: string): PolicyDecision => ({ allowed: false, reason });

/** Limits AWS applies to every topic name and topic filter, before any policy. */
export function checkTopicLimits(topic: string): PolicyDecision {
  if (topic.length === 0) return deny('empty topic');
  if (Buffer.byteLength(topic, 'utf8') > MAX_TOPIC_BYTES)
    return deny(`topic longer than ${MAX_TOPIC_BYTES} bytes`);
  if (topic.split('/').length - 1 > MAX_TOPIC_SLASHES)
    return deny(`topic has more than ${MAX_TOPIC_SLASHES} slashes`);
  return ALLOW;
}

/** `dt/civic/<compound>/<own thing>/<signal...>`: every level present, no wildcards. */
export function checkDevicePublish(thingName: string, topic: string): PolicyDecision {
  const limits = checkTopicLimits(topic);
  if (!limits.allowed) return limits;
  if (/[+#]/.test(topic)) return deny('wildcards are not allowed in a topic name');
  const [dt, civic, compound, thing, ...signal] = topic.split('/');
  if (dt !== 'dt' || civic !== 'civic') return deny('devices publish only under dt/civic/');
  if (!compound) return deny('missing compound level');
  if (thing !== thingName) return deny(`not the thing's own topic (thing ${thingName})`);
  if (signal.length === 0 || signal.some((level) => level === ''))
    return deny('missing or empty signal level');
  return ALLOW;
}

/**
 * `cmd/civic/<compound or +>/<own thing>/<command filter>`: the thing level must be the literal thing name,
 * and `#` may only stand for the command part, so no filter can reach another thing's commands.
 */
export function checkDeviceSubscribe(thingName: string, filter: string): PolicyDecision {
  const limits = checkTopicLimits(filter);
  if (!limits.allowed) return limits;
  const levels = filter.split('/');
  const malformed = levels.findIndex(
    (level, index) =>
      (level.length > 1 && /[+#]/.test(level)) || (level === '#' && index !== levels.length - 1),
  );
  if (malformed !== -1) return deny('malformed topic filter');
  const [cmd, civic, compound, thing, ...command] = levels;
  if (cmd !== 'cmd' || civic !== 'civic') return deny('devices subscribe only under cmd/civic/');
  if (!compound || compound === '#') return deny('missing compound level');
  if (thing !== thingName) return deny(`not the thing's own commands (thing ${thingName})`);
  if (command.length === 0 || command.some((level) => level === ''))
    return deny('missing or empty command level');
  return ALLOW;
}
