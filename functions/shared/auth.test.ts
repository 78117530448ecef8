import { describe, expect, it } from 'vitest';
import { callerFromClaims, claimList } from './auth.js';

describe('claimList', () => {
  it.each([
    ['[street-office]', ['street-office']],
    ['[owner committee-member]', ['owner', 'committee-member']],
    ['a,b, c', ['a', 'b', 'c']],
    [
      ['x', 'y'],
      ['x', 'y'],
    ],
    ['', []],
    [undefined, []],
    ['[]', []],
  ])('reads %j as %j', (value, expected) => {
    expect(claimList(value)).toEqual(expected);
  });
});

describe('callerFromClaims', () => {
  it('builds the caller from API Gateway-shaped claims and ignores unknown groups', () => {
    const caller = callerFromClaims({
      sub: 'u-1',
      'cognito:groups': '[owner superuser]',
      'custom:subDistrictId': 'sd-1',
      'custom:compoundIds': 'xiling,yuyuan',
    });
    expect(caller).toEqual({
      sub: 'u-1',
      roles: ['owner'],
      subDistrictId: 'sd-1',
      compoundIds: ['xiling', 'yuyuan'],
      areaIds: [],
    });
  });

  it('has no caller without a subject', () => {
    expect(callerFromClaims({ 'cognito:groups': '[owner]' })).toBeUndefined();
  });
});
