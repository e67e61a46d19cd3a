import { recordPeakRss } from './peak-rss.js';
import { EXIT_INTERNAL, runCli } from './run-cli.js';

export { serve } from './build-server.js';

export async function main(argv: string[]): Promise<void> {
  let finished = false;
  // at exit, so that it is the process's peak over everything it did (a second Ctrl-C exits at once too)
  process.once('exit', () => recordPeakRss(process.env));
  // If the event loop runs dry while a promise is still pending, node would exit 0 mid-build.
  process.on('beforeExit', () => {
    if (finished) return;
    finished = true;
    process.stderr.write(
      'internal error: the build stopped before it finished (a pending operation never completed); this is a bug in tsbuild\n',
    );
    process.exitCode = EXIT_INTERNAL;
  });
  try {
    await runCli(argv);
  } finally {
    finished = true;
  }
}
