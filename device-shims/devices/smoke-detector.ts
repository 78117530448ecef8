import { DeviceShim, type Published } from '../shim.js';

export interface SmokeAlarm {
  smoke: boolean;
  /** Obscuration or sensor level, when the detector reports one. */
  level?: number;
}

/** A smoke detector in a corridor or stairwell. */
export class SmokeDetector extends DeviceShim {
  static override readonly deviceType = 'smoke-detector';

  alarm(smoke: boolean, level?: number): Promise<Published<SmokeAlarm>> {
    return this.send('alarm', level === undefined ? { smoke } : { smoke, level });
  }
}
