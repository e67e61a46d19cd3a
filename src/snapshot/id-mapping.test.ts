import { describe, expect, it } from 'vitest';
import {
  IDENTITY_MAPPING,
  idMappingFromRanges,
  ownerXattrValue,
  ownIdsMapping,
  parseOwnerXattr,
} from './id-mapping.js';

describe('IdMapping', () => {
  it('identity maps every id to itself both ways', () => {
    for (const n of [0, 1000, 65534]) {
      expect([IDENTITY_MAPPING.uid(n), IDENTITY_MAPPING.gid(n)]).toEqual([n, n]);
      expect([IDENTITY_MAPPING.imageUid(n), IDENTITY_MAPPING.imageGid(n)]).toEqual([n, n]);
    }
  });

  it('ranges map image ids to host ids and host ids back', () => {
    const ids = idMappingFromRanges(
      [
        { containerID: 0, hostID: 1000, size: 1 },
        { containerID: 1, hostID: 100_000, size: 65_535 },
      ],
      [{ containerID: 0, hostID: 200_000, size: 65_536 }],
    );
    expect([ids.uid(0), ids.uid(1), ids.uid(1000)]).toEqual([1000, 100_000, 100_999]);
    expect([ids.imageUid(1000), ids.imageUid(100_000), ids.imageUid(100_999)]).toEqual([0, 1, 1000]);
    expect([ids.gid(5), ids.imageGid(200_005)]).toEqual([200_005, 5]);
    for (const n of [0, 7, 4242, 65_535]) {
      expect(ids.imageUid(ids.uid(n))).toBe(n);
      expect(ids.imageGid(ids.gid(n))).toBe(n);
    }
    // a host id no range covers reads as the overflow id, as inside a user namespace
    expect([ids.imageUid(5), ids.imageGid(0)]).toEqual([65534, 65534]);
    expect(() => ids.uid(70_000)).toThrow(/uid 70000 has no host id/);
  });
});

describe('ownIdsMapping (a user that may not chown)', () => {
  it("writes every image id as the user's, reads the user's as root, and records owners other than root", () => {
    const ids = ownIdsMapping(995, 994);
    expect([ids.uid(0), ids.uid(1000), ids.gid(1000)]).toEqual([995, 995, 994]);
    expect([ids.imageUid(995), ids.imageGid(994), ids.imageUid(0)]).toEqual([0, 0, 65534]);
    expect(ownerXattrValue(ids, 0, 0)).toBeUndefined();
    expect(ownerXattrValue(ids, 1000, 0)?.toString()).toBe('1000:0');
    expect(ownerXattrValue(IDENTITY_MAPPING, 1000, 1000)).toBeUndefined();
    expect(parseOwnerXattr(Buffer.from('1000:1001'))).toEqual({ uid: 1000, gid: 1001 });
    expect(parseOwnerXattr(Buffer.from('root'))).toBeUndefined();
    expect(parseOwnerXattr(undefined)).toBeUndefined();
  });
});
