import { describe, expect, it } from 'vitest';
import { imagePurl } from './provenance-facts.js';

describe('imagePurl', () => {
  const amd64 = { os: 'linux', architecture: 'amd64' };
  it('names Docker Hub images by their familiar name and tag, as BuildKit', () => {
    expect(imagePurl('docker.io/library/busybox:latest', amd64)).toBe(
      'pkg:docker/busybox@latest?platform=linux%2Famd64',
    );
    expect(imagePurl('127.0.0.1:5000/a/b:1', amd64)).toBe('pkg:docker/127.0.0.1:5000/a/b@1?platform=linux%2Famd64');
  });
  it('an OCI layout is pkg:oci', () => {
    expect(imagePurl('oci-layout:///x/busybox@sha256:00', amd64).split('/')[0]).toBe('pkg:oci');
  });
});
