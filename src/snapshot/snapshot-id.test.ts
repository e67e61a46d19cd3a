import { describe, expect, it } from 'vitest';
import { isBaseLayer } from './layer-blobs.js';
import {
  asSnapshotId,
  baseLayerSnapshotId,
  freshStepSnapshotId,
  linkedSnapshotId,
  snapshotKind,
  stepSnapshotId,
} from './snapshot-id.js';

const hex = '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';

describe('snapshot ids', () => {
  // These names are directories in existing state dirs and in exported cache records.
  it('are spelled as they always were', () => {
    expect(baseLayerSnapshotId(`sha256:${hex}`)).toBe('l0123456789abcdef012');
    expect(stepSnapshotId(hex)).toBe('s0123456789abcdef012');
    expect(linkedSnapshotId(hex)).toBe('k0123456789abcdef012');
    const fresh = freshStepSnapshotId(hex);
    expect(fresh).toMatch(/^s0123456789a[0-9a-f]{8}$/);
    expect(freshStepSnapshotId(hex)).not.toBe(fresh);
  });

  it('know their kind', () => {
    expect(snapshotKind(baseLayerSnapshotId(`sha256:${hex}`))).toBe('base');
    expect(snapshotKind(stepSnapshotId(hex))).toBe('step');
    expect(snapshotKind(freshStepSnapshotId(hex))).toBe('step');
    expect(snapshotKind(linkedSnapshotId(hex))).toBe('step');
    expect(snapshotKind(asSnapshotId('l0000000000000000000'))).toBe('base');
  });

  it('isBaseLayer agrees with snapshotKind', () => {
    expect(isBaseLayer(baseLayerSnapshotId(`sha256:${hex}`))).toBe(true);
    expect(isBaseLayer(stepSnapshotId(hex))).toBe(false);
    expect(isBaseLayer(linkedSnapshotId(hex))).toBe(false);
  });
});
