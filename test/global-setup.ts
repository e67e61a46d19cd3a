import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './helpers/build-fixture.js';

/** The busybox base layout is made locally (never committed); integration tests build on it. */
export default function setup(): void {
  execFileSync('bash', [join(REPO_ROOT, 'fixtures/base/make-busybox-layout.sh')], { stdio: 'inherit' });
  if (!existsSync(join(REPO_ROOT, 'dist/cli/main.js'))) {
    // Unit tests run from source; only the integration tests need the compiled CLI.
    console.warn('dist/ is missing: integration tests will fail; `npm test` builds it first');
  }
}
