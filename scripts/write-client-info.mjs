// Run by `npm run bundle`: writes dist/bundle/client-info for the build server's clients
// (bin/tsbuild-client.pl and bin/tsbuild.cjs): line 1 a random id of this build of the bundle,
// which names its server (a rebuilt checkout gets a server of its own), line 2 the CLI's
// subcommands, which never go to the server (src/cli/subcommands.ts).
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const { SUBCOMMANDS } = await import(join(repo, 'dist', 'cli', 'subcommands.js'));
writeFileSync(
  join(repo, 'dist', 'bundle', 'client-info'),
  `${randomBytes(8).toString('hex')}\n${[...SUBCOMMANDS].join(' ')}\n`,
);
