import { DeviceShim, type Published } from '../shim.js';

export type BinKind = 'kitchen' | 'recyclable' | 'hazardous' | 'residual';

/** A garbage-point bin that recognises waste thrown into the wrong bin. */
export class SmartBin extends DeviceShim {
  static override readonly deviceType = 'smart-bin';

  sortingViolation(bin: BinKind): Promise<Published<{ event: 'sorting-violation'; bin: BinKind }>> {
    return this.send('event', { event: 'sorting-violation' as const, bin });
  }
}
