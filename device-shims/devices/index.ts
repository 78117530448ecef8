/** Every simulated device family, and which shim plays each registry device type. */
import { InspectionCamera } from './camera.js';
import { Charger } from './charger.js';
import { ElevatorCamera } from './elevator-camera.js';
import { EmergencyButton } from './emergency-button.js';
import { Gate } from './gate.js';
import { GeomagneticSensor } from './geomagnetic-sensor.js';
import { GuidanceScreen } from './guidance-screen.js';
import { Handheld } from './handheld.js';
import { SmartBin } from './smart-bin.js';
import { SmokeDetector } from './smoke-detector.js';
import { StreetLight } from './street-light.js';
import { WaterMeter } from './water-meter.js';

export * from './camera.js';
export * from './charger.js';
export * from './elevator-camera.js';
export * from './emergency-button.js';
export * from './gate.js';
export * from './geomagnetic-sensor.js';
export * from './guidance-screen.js';
export * from './handheld.js';
export * from './smart-bin.js';
export * from './smoke-detector.js';
export * from './street-light.js';
export * from './water-meter.js';

export const SHIMS = {
  'geomagnetic-sensor': GeomagneticSensor,
  'smoke-detector': SmokeDetector,
  'elevator-camera': ElevatorCamera,
  gate: Gate,
  camera: InspectionCamera,
  'smart-bin': SmartBin,
  'street-light': StreetLight,
  charger: Charger,
  'water-meter': WaterMeter,
  'emergency-button': EmergencyButton,
  'guidance-screen': GuidanceScreen,
  handheld: Handheld,
} as const;
