import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './helpers/build-fixture.js';

/** The busybox base layout is made locally (never committed); integration tests build on it. */
export default function setup(): void {
  execFileSync('bash', [join(REPO_ROOT, 'fixtures/base/make-busybox-layout.sh')], { stdio: 'inherit' });
  if (!existsSync(join(REPO_ROOT, 'dist/cli/main.js'))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does it) before the integration tests');
  }
}
