export {
  BrokerStartError,
  type DeniedEvent,
  type DevicePublish,
  type LocalBroker,
  MAX_PAYLOAD_BYTES,
  PolicyDeniedError,
  type StartBrokerOptions,
  startBroker,
} from './broker.js';
export {
  assertThingName,
  CaStoreError,
  type CertificateRef,
  type DeviceCertificate,
  ensureCa,
  InvalidThingNameError,
  type LocalCa,
  normalizeSerialNumber,
  type RevocationEvent,
  ThingNotFoundError,
} from './ca.js';
export {
  DataPlaneError,
  type LocalIotDataPlane,
  MAX_PUBLISH_BYTES,
  type StartIotDataPlaneOptions,
  startIotDataPlane,
} from './data-plane.js';
export {
  checkDevicePublish,
  checkDeviceSubscribe,
  checkTopicLimits,
  MAX_TOPIC_BYTES,
  MAX_TOPIC_SLASHES,
  type PolicyDecision,
} from './policy.js';
