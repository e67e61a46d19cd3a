import { existsSync } from 'node:fs';
import { Command } from 'commander';

/** `tsbuild du`: what the state directory holds, by kind. Read-only, so it takes no lock. */
export function duCommand(): Command {
  return new Command('du')
    .description('show what the state directory holds, by kind')
    .option('--json', 'one JSON object instead of the table')
    .action(async (flags: { json?: boolean }) => {
      const [{ defaultStateRoot, StatePaths }, { diskUsage }, { formatSize }, { openStateParts }] = await Promise.all([
        import('../store/state-paths.js'),
        import('../cache/gc.js'),
        import('../cache/size.js'),
        import('./state-parts.js'),
      ]);
      const paths = new StatePaths(defaultStateRoot());
      if (!existsSync(paths.root)) {
        process.stdout.write(
          flags.json
            ? JSON.stringify({ root: paths.root, rows: [], total: 0, reclaimable: 0 }) + '\n'
            : `${paths.root}: no state directory yet\n`,
        );
        return;
      }
      const rows = await diskUsage(await openStateParts(paths));
      const total = rows.reduce((n, r) => n + r.bytes, 0);
      const reclaimable = rows.filter((r) => r.reclaimable).reduce((n, r) => n + r.bytes, 0);
      if (flags.json) {
        process.stdout.write(JSON.stringify({ root: paths.root, rows, total, reclaimable }) + '\n');
        return;
      }
      const lines = [
        ['KIND', 'ITEMS', 'SIZE', 'RECLAIMABLE'],
        ...rows.map((r) => [r.kind, String(r.items), formatSize(r.bytes), r.reclaimable ? 'yes' : 'no']),
      ];
      const widths = lines[0]!.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
      const fmt = (l: string[]): string =>
        l.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
      process.stdout.write(
        `${paths.root}\n${lines.map(fmt).join('\n')}\ntotal ${formatSize(total)}, reclaimable by tsbuild prune --all ${formatSize(reclaimable)}\n`,
      );
    });
}
