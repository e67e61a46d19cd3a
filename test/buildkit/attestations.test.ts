/**
 * BuildKit's frontend/dockerfile/dockerfile_provenance_test.go and dockerfile_sbom_test.go: tsbuild
 * makes no attestations (neither SLSA provenance nor SBOMs), so each is skipped with that reason.
 */
import { describe, it } from 'vitest';

describe('BuildKit provenance attestations (dockerfile_provenance_test.go)', () => {
  it.skip('testProvenanceAttestation — tsbuild makes no attestations (SLSA provenance)', () => {});
  it.skip('testGitProvenanceAttestationSHA1 — tsbuild makes no attestations (SLSA provenance)', () => {});
  it.skip('testGitProvenanceAttestationSHA256 — tsbuild makes no attestations (SLSA provenance)', () => {});
  it.skip('testGitProvenanceAttestation — tsbuild makes no attestations (SLSA provenance)', () => {});
  it.skip('testMultiPlatformProvenance — tsbuild makes no attestations (SLSA provenance)', () => {});
  it.skip('testClientFrontendProvenance — tsbuild makes no attestations (SLSA provenance)', () => {});
  it.skip('testGatewayBuiltinSyntaxSourceProvenance — tsbuild makes no attestations (SLSA provenance)', () => {});
  it.skip('testClientLLBProvenance — tsbuild makes no attestations (SLSA provenance)', () => {});
  it.skip('testGatewayProvenanceRootRequest — tsbuild makes no attestations (SLSA provenance)', () => {});
  it.skip('testGatewayProvenanceSameCallbackInputProducer — tsbuild makes no attestations (SLSA provenance)', () => {});
  it.skip('testGatewayProvenanceDifferentCallbackInputProducer — tsbuild makes no attestations (SLSA provenance)', () => {});
  it.skip('testGatewayProvenancePlainLLBInputFallback — tsbuild makes no attestations (SLSA provenance)', () => {});
  it.skip('testGatewayProvenanceNestedInputProducer — tsbuild makes no attestations (SLSA provenance)', () => {});
  it.skip('testDockerfileProvenanceInputProducer — tsbuild makes no attestations (SLSA provenance)', () => {});
  it.skip('testSecretSSHProvenance — tsbuild makes no attestations (SLSA provenance)', () => {});
  it.skip('testOCILayoutProvenance — tsbuild makes no attestations (SLSA provenance)', () => {});
  it.skip('testNilProvenance — tsbuild makes no attestations (SLSA provenance)', () => {});
  it.skip('testDuplicatePlatformProvenance — tsbuild makes no attestations (SLSA provenance)', () => {});
  it.skip('testDockerIgnoreMissingProvenance — tsbuild makes no attestations (SLSA provenance)', () => {});
  it.skip('testCommandSourceMapping — tsbuild makes no attestations (SLSA provenance)', () => {});
  it.skip('testFrontendDeduplicateSources — tsbuild makes no attestations (SLSA provenance)', () => {});
  it.skip('testDuplicateLayersProvenance — tsbuild makes no attestations (SLSA provenance)', () => {});
  it.skip('testProvenanceExportLocal — tsbuild makes no attestations (SLSA provenance)', () => {});
  it.skip('testProvenanceExportLocalForceSplit — tsbuild makes no attestations (SLSA provenance)', () => {});
  it.skip('testProvenanceExportLocalMultiPlatform — tsbuild makes no attestations (SLSA provenance)', () => {});
  it.skip('testProvenanceExportLocalMultiPlatformNoSplit — tsbuild makes no attestations (SLSA provenance)', () => {});
});

describe('BuildKit SBOM attestations (dockerfile_sbom_test.go)', () => {
  it.skip('testSBOMScannerImage — tsbuild makes no attestations (SBOM)', () => {});
  it.skip('testSBOMScannerArgs — tsbuild makes no attestations (SBOM)', () => {});
});
