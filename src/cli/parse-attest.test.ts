import { describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import { parseAttestations } from './parse-attest.js';

describe('parseAttestations', () => {
  it('is off unless asked', () => {
    expect(parseAttestations(undefined, [])).toBeUndefined();
  });
  it('--provenance=true is buildx mode=min, SLSA v1', () => {
    expect(parseAttestations('true', [])).toEqual({ mode: 'min', version: 'v1' });
    expect(parseAttestations('1', [])).toEqual({ mode: 'min', version: 'v1' });
  });
  it('--provenance=false and disabled=true turn it off, over an --attest', () => {
    expect(parseAttestations('false', ['type=provenance'])).toBeUndefined();
    expect(parseAttestations(undefined, ['type=provenance,disabled=true'])).toBeUndefined();
  });
  it('takes mode, version and the other BuildKit parameters', () => {
    expect(parseAttestations('mode=max,version=v0.2,builder-id=me,reproducible=true,filename=p.json', [])).toEqual({
      mode: 'max',
      version: 'v0.2',
      builderId: 'me',
      reproducible: true,
      filename: 'p.json',
    });
  });
  it('--attest type=provenance defaults to BuildKit mode=max', () => {
    expect(parseAttestations(undefined, ['type=provenance'])).toEqual({ mode: 'max', version: 'v1' });
    expect(parseAttestations(undefined, ['type=provenance,mode=min,inline-only=true'])).toEqual({
      mode: 'min',
      version: 'v1',
      inlineOnly: true,
    });
  });
  it('refuses SBOMs, unknown types, modes, versions and options with a usage error', () => {
    expect(() => parseAttestations(undefined, ['type=sbom'])).toThrow(/no SBOM attestations/);
    expect(() => parseAttestations(undefined, ['type=sbom'])).toThrow(UsageError);
    expect(() => parseAttestations(undefined, ['type=foo'])).toThrow(/"foo" is unknown/);
    expect(() => parseAttestations(undefined, ['mode=max'])).toThrow(/type= is required/);
    expect(() => parseAttestations('mode=full', [])).toThrow(/not a provenance mode/);
    expect(() => parseAttestations('version=v2', [])).toThrow(/not a SLSA provenance version/);
    expect(() => parseAttestations('colour=red', [])).toThrow(/unknown provenance option "colour"/);
  });
});
