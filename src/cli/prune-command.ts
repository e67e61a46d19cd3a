import { existsSync } from 'node:fs';
import { Command } from 'commander';
import { UserError } from '../errors.js';
import { collect } from './build-command.js';

interface PruneFlags {
  all?: boolean;
  keepStorage?: string;
  filter: string[];
  force?: boolean;
}

/** `until=24h` (Go duration, as docker's) or `until=7d`, in milliseconds. */
export async function parseUntil(filters: string[]): Promise<number | undefined> {
  let ms: number | undefined;
  for (const f of filters) {
    const m = /^until=(.+)$/.exec(f.trim());
    if (!m)
      throw new UserError(`prune --filter ${f}: unknown filter`, {
        hint: 'the filter tsbuild knows is until=DURATION, e.g. --filter until=24h',
      });
    const text = m[1]!.trim();
    const days = /^(\d+(?:\.\d+)?)d$/.exec(text);
    if (days) {
      ms = Number(days[1]) * 86_400_000;
      continue;
    }
    const { parseGoDuration } = await import('../frontend/duration.js');
    try {
      ms = parseGoDuration(text) / 1e6;
    } catch {
      throw new UserError(`prune --filter until=${text}: not a duration`, { hint: 'write it like 24h, 90m, 7d' });
    }
  }
  return ms;
}

/** `tsbuild prune`: garbage collection of the build cache, under the exclusive state lock. */
export function pruneCommand(): Command {
  return new Command('prune')
    .description('remove build cache from the state directory (tagged images are kept)')
    .option('-a, --all', 'remove all build cache, not only unreferenced data')
    .option('--keep-storage <size>', 'remove least recently used cache until it takes at most SIZE (e.g. 5GB)')
    .option(
      '--filter <filter>',
      'until=DURATION: remove cache not used for that long (repeatable)',
      collect,
      [] as string[],
    )
    .option('-f, --force', 'do not ask (tsbuild never asks; accepted for docker compatibility)')
    .action(async (flags: PruneFlags) => {
      const [{ parseSize, formatSize }, { defaultStateRoot, StatePaths }] = await Promise.all([
        import('../cache/size.js'),
        import('../store/state-paths.js'),
      ]);
      let keepBytes: number | undefined;
      if (flags.keepStorage !== undefined) {
        keepBytes = parseSize(flags.keepStorage);
        if (keepBytes === undefined)
          throw new UserError(`--keep-storage ${flags.keepStorage}: not a size`, {
            hint: 'write it like 5GB, 500MB or a number of bytes',
          });
      }
      const olderThanMs = await parseUntil(flags.filter);
      const paths = new StatePaths(defaultStateRoot());
      if (!existsSync(paths.root)) {
        process.stdout.write(`${paths.root}: no state directory, nothing to prune\n`);
        return;
      }
      const { openStateParts } = await import('./state-parts.js');
      const parts = await openStateParts(paths);
      const [{ StateLock }, { sweepStale }, { prune }] = await Promise.all([
        import('../store/state-lock.js'),
        import('../cache/sweep.js'),
        import('../cache/gc.js'),
      ]);
      const lock = new StateLock(paths.root);
      const { stateDirError } = await import('../cache/state-session.js');
      // a state dir this user may not write (a build's, as root): say so, not "a bug"
      const release = await lock
        .acquireExclusive({ wait: true, onWait: (m) => process.stderr.write(`${m}...\n`) })
        .catch((err: unknown) => {
          throw stateDirError(err, paths.root);
        });
      if (!release) throw new Error('could not take the state lock');
      try {
        const swept = await sweepStale(paths, { othersLive: false, deep: true });
        const report = await prune(parts, {
          ...(flags.all ? { all: true } : {}),
          ...(keepBytes !== undefined ? { keepBytes } : {}),
          ...(olderThanMs !== undefined ? { olderThanMs } : {}),
        });
        const leftovers = swept.removed.length ? `, ${swept.removed.length} leftovers of killed builds` : '';
        process.stdout.write(
          `removed ${report.snapshots} layer snapshots, ${report.records} cache records, ${report.blobs} blobs${leftovers}: ${formatSize(report.bytes)} freed\n`,
        );
      } finally {
        await release();
      }
    });
}
