/**
 * Flags of `docker buildx build` and the classic `docker build` that tsbuild does not take, with
 * what to do instead: someone who types one knows it from docker, and "unknown option" alone
 * reads as a typo.
 */
const FOREIGN_FLAGS: Record<string, string> = {
  '--builder': 'tsbuild has no builder instances: it builds in its own process',
  '--sbom': 'tsbuild writes no SBOM attestation',
  '--call': 'build checks and outlines (--call, --check) are not supported yet',
  '--check': 'build checks (--check) are not supported yet',
  '--squash': 'squashing layers is not supported (BuildKit dropped it too)',
  '--compress': 'the context is read in place, never sent: there is nothing to compress',
  '--stream': 'the context is read in place, never sent',
  '--force-rm': 'tsbuild never keeps a RUN container',
  '--rm': 'tsbuild never keeps a RUN container: drop the flag',
  '--disable-content-trust': 'tsbuild does not verify image signatures: drop the flag',
  '--security-opt':
    'RUN runs with the default seccomp profile; --allow security.insecure lifts it for RUN --security=insecure',
};

/** What to tell someone who typed `option` (as commander quotes it: `--sbom=true`), when docker has it. */
export function foreignFlagHint(option: string): string | undefined {
  const name = option.split('=')[0]!;
  const why = FOREIGN_FLAGS[name];
  return why && `${name} is a docker build flag that tsbuild does not take: ${why}`;
}
