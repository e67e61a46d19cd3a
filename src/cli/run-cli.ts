import { CommanderError } from 'commander';
import { asEnvironmentError, formatUserError, isUserError, stacksWithCauses, UsageError } from '../errors.js';
import { foreignFlagHint } from './foreign-flags.js';
import { reexecStateCommand } from './isolation.js';
import { program } from './program.js';

const EXIT_USER_ERROR = 1;
const EXIT_USAGE = 2;
export const EXIT_INTERNAL = 70;

/**
 * Runs one command and leaves its exit code in process.exitCode: what a tsbuild process does,
 * and what the build server does for each client.
 */
export async function runCli(argv: string[]): Promise<void> {
  const debug = argv.includes('--debug');
  try {
    if (await reexecStateCommand(argv)) return;
    await program().parseAsync(argv);
  } catch (caught) {
    if (caught instanceof CommanderError) {
      const unknown = caught.code === 'commander.unknownOption' && /'([^']+)'/.exec(caught.message)?.[1];
      const hint = unknown && foreignFlagHint(unknown);
      if (hint) process.stderr.write(`hint: ${hint}\n`);
      process.exitCode = caught.exitCode === 0 ? 0 : EXIT_USAGE;
      return;
    }
    // A full disk or a read-only filesystem that nothing on the way named is still the machine's fault.
    const err = asEnvironmentError(caught);
    if (isUserError(err)) {
      process.stderr.write(formatUserError(err) + '\n');
      if (debug) process.stderr.write(stacksWithCauses(err) + '\n');
      process.exitCode = err instanceof UsageError ? EXIT_USAGE : EXIT_USER_ERROR;
      return;
    }
    const e = err as Error;
    process.stderr.write(`internal error: ${e?.message ?? String(err)}\n`);
    process.stderr.write(
      debug ? `${stacksWithCauses(err)}\n` : 'this is a bug in tsbuild; run again with --debug for the stack trace\n',
    );
    process.exitCode = EXIT_INTERNAL;
  }
}
