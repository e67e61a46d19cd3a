import { describe, expect, it } from 'vitest';
// biome-ignore lint/suspicious/noExplicitAny: the predicates are JSON, read by path
type Json = any;

import { provenancePredicate, provenanceStatement, type ProvenanceFacts } from './provenance.js';

const facts: ProvenanceFacts = {
  invocationId: 'abc',
  startedOn: '2026-01-01T00:00:00.000Z',
  finishedOn: '2026-01-01T00:00:01.000Z',
  entryPoint: 'Dockerfile',
  args: { 'build-arg:FOO': 'bar', 'label:lbl': 'abc', 'context:foo': 'https://xxxxx:xxxxx@example.invalid/foo.html' },
  locals: ['context', 'dockerfile'],
  secrets: [{ id: 'mysecret', optional: true }],
  ssh: [{ id: 'default', optional: true }],
  builderPlatform: 'linux/amd64',
  materials: [{ uri: 'pkg:docker/busybox@latest?platform=linux%2Famd64', digest: { sha256: 'aa' } }],
  dockerfile: { filename: 'Dockerfile', data: 'FROM busybox\n' },
  steps: [{ id: 'step0', op: { type: 'image' } }],
};

describe('provenance predicate', () => {
  it('v1 max: request args, secrets, ssh, build config and the Dockerfile', () => {
    const p = provenancePredicate({ mode: 'max', version: 'v1' }, facts) as Json;
    expect(p.buildDefinition.buildType).toBe(
      'https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md',
    );
    expect(p.buildDefinition.externalParameters.configSource).toEqual({ path: 'Dockerfile' });
    expect(Object.keys(p.buildDefinition.externalParameters.request.args)).toHaveLength(3);
    expect(p.buildDefinition.externalParameters.request.secrets).toEqual([{ id: 'mysecret', optional: true }]);
    expect(p.buildDefinition.externalParameters.request.ssh).toEqual([{ id: 'default', optional: true }]);
    expect(p.buildDefinition.internalParameters.buildConfig.llbDefinition).toHaveLength(1);
    expect(p.buildDefinition.resolvedDependencies).toEqual(facts.materials);
    expect(p.runDetails.metadata.buildkit_completeness).toEqual({ request: true, resolvedDependencies: false });
    expect(Buffer.from(p.runDetails.metadata.buildkit_metadata.source.infos[0].data, 'base64').toString()).toBe(
      'FROM busybox\n',
    );
  });
  it('v1 min: only named contexts among the args, no secrets, steps or source', () => {
    const p = provenancePredicate({ mode: 'min', version: 'v1' }, facts) as Json;
    expect(p.buildDefinition.externalParameters.request.args).toEqual({
      'context:foo': 'https://xxxxx:xxxxx@example.invalid/foo.html',
    });
    expect(p.buildDefinition.externalParameters.request.secrets).toBeUndefined();
    expect(p.buildDefinition.internalParameters.buildConfig).toBeUndefined();
    expect(p.runDetails.metadata.buildkit_metadata.source).toBeUndefined();
    expect(p.runDetails.metadata.buildkit_completeness.request).toBe(false);
  });
  it('v0.2: BuildKit buildType, invocation, materials and metadata', () => {
    const p = provenancePredicate({ mode: 'max', version: 'v0.2', builderId: 'b', reproducible: true }, facts) as Json;
    expect(p.buildType).toBe('https://mobyproject.org/buildkit@v1');
    expect(p.builder).toEqual({ id: 'b' });
    expect(p.invocation.configSource).toEqual({ entryPoint: 'Dockerfile' });
    expect(p.invocation.environment).toEqual({ platform: 'linux/amd64' });
    expect(p.invocation.parameters.frontend).toBe('dockerfile.v0');
    expect(p.materials).toEqual(facts.materials);
    expect(p.metadata.completeness).toEqual({ parameters: true, environment: true, materials: false });
    expect(p.metadata.reproducible).toBe(true);
    expect(p.metadata.buildStartedOn).toBe(facts.startedOn);
  });
  it('the statement names the image manifest by each purl', () => {
    const s = provenanceStatement({ mode: 'min', version: 'v0.2' }, facts, {
      digest: 'sha256:ff',
      purls: ['pkg:docker/app@1?platform=linux%2Famd64'],
    }) as Json;
    expect(s._type).toBe('https://in-toto.io/Statement/v1');
    expect(s.predicateType).toBe('https://slsa.dev/provenance/v0.2');
    expect(s.subject).toEqual([{ name: 'pkg:docker/app@1?platform=linux%2Famd64', digest: { sha256: 'ff' } }]);
  });
});
