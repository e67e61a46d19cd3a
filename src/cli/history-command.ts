import { Command } from 'commander';
import { UserError } from '../errors.js';
import type { ImageDetails } from '../exporter/image-store.js';
import type { BuildSummary } from '../progress/build-log.js';
import { createdAt, createdSince, ellipsis, formatImageId, humanSize } from './image-display.js';
import { openImages, printRows, requireImages } from './image-session.js';

interface HistoryFlags {
  /** `--no-trunc` (commander reads a `--no-` flag as the negation of `trunc`) */
  trunc?: boolean;
  format?: string;
  quiet?: boolean;
}

/**
 * `tsbuild history IMAGE`: the steps an image was made of, newest first, as `docker history`
 * shows them; `tsbuild history [ls]`: the past builds (buildx's `history ls`); `tsbuild history
 * logs [ID]`: a build's whole log again (buildx's `history logs`), the newest by default.
 * `ls` and `logs` are reserved words here: an image literally named so is `ls:latest`.
 */
export function historyCommand(): Command {
  return new Command('history')
    .description(
      "show an image's history (docker history IMAGE), the past builds (history, history ls), or a build's log (history logs [ID])",
    )
    .argument('[image]', 'an image name or ID; `ls` (or nothing) lists past builds, `logs` prints a build log')
    .argument('[build]', 'with `logs`: the build ID (a unique prefix will do); the newest build by default')
    .option('--no-trunc', 'do not cut long commands and IDs')
    .option('-q, --quiet', 'only the image IDs (build IDs with ls)')
    .option('--format <format>', "json (one object a line), table, or a template like '{{.CreatedBy}}'")
    .action(async (ref: string | undefined, build: string | undefined, flags: HistoryFlags, cmd: Command) => {
      if (ref === undefined || ref === 'ls') {
        if (build !== undefined) cmd.error(`error: "history ls" takes no argument, got "${build}"`, { exitCode: 2 });
        return listBuildsCommand(flags);
      }
      if (ref === 'logs') return printBuildLog(build);
      if (build !== undefined)
        cmd.error(`error: "history IMAGE" takes one image, got "${ref}" and "${build}"`, { exitCode: 2 });
      const { images } = await openImages();
      const store = requireImages(images, ref);
      const { images: found } = await store.resolve(ref);
      const rows = historyRows(await store.details(found[0]!.target), flags.trunc === false);
      if (flags.quiet) {
        process.stdout.write(rows.map((r) => `${r.ID}\n`).join(''));
        return;
      }
      printRows(rows, flags.format, [
        { header: 'IMAGE', field: 'ID' },
        { header: 'CREATED', field: 'CreatedSince' },
        { header: 'CREATED BY', field: 'CreatedBy' },
        { header: 'SIZE', field: 'Size' },
        { header: 'COMMENT', field: 'Comment' },
      ]);
    });
}

async function buildLogsDir(): Promise<string> {
  const { defaultStateRoot, StatePaths } = await import('../store/state-paths.js');
  return new StatePaths(defaultStateRoot()).buildLogs;
}

/** `tsbuild history ls`: the builds whose logs are kept, newest first. */
async function listBuildsCommand(flags: HistoryFlags): Promise<void> {
  const { listBuilds } = await import('../progress/build-log.js');
  const rows = buildRows(await listBuilds(await buildLogsDir()));
  if (flags.quiet) {
    process.stdout.write(rows.map((r) => `${r.ID}\n`).join(''));
    return;
  }
  printRows(rows, flags.format, [
    { header: 'BUILD ID', field: 'ID' },
    { header: 'NAME', field: 'Name' },
    { header: 'CONTEXT', field: 'Context' },
    { header: 'STATUS', field: 'Status' },
    { header: 'CREATED', field: 'CreatedSince' },
    { header: 'DURATION', field: 'Duration' },
  ]);
}

/** The rows of `history ls`: what was built (the tags, else the target), from where, how it ended. */
export function buildRows(builds: BuildSummary[], now = Date.now()) {
  return builds.map((b) => ({
    ID: b.id,
    Name: b.tags.length ? b.tags.join(', ') : b.target ? `--target ${b.target}` : '<none>',
    Context: b.context,
    ...(b.dockerfile ? { Dockerfile: b.dockerfile } : {}),
    Status: b.state.charAt(0).toUpperCase() + b.state.slice(1),
    CreatedAt: createdAt(new Date(b.started).toISOString()),
    CreatedSince: createdSince(new Date(b.started).toISOString(), now),
    Duration: b.durationMs !== undefined ? `${(b.durationMs / 1000).toFixed(1)}s` : '',
    ...(b.outcome?.ok ? { ImageID: b.outcome.imageId } : {}),
    ...(b.outcome && !b.outcome.ok ? { Error: b.outcome.error } : {}),
  }));
}

/** `tsbuild history logs [ID]`: the build's log as plain progress, every line of it, then how it ended. */
async function printBuildLog(id: string | undefined): Promise<void> {
  const [{ readBuildLog }, { PlainRenderer }] = await Promise.all([
    import('../progress/build-log.js'),
    import('../progress/plain.js'),
  ]);
  const found = await readBuildLog(await buildLogsDir(), id);
  if (found === 'ambiguous')
    throw new UserError(`build ID prefix "${id}" names more than one build`, { hint: 'give more of the ID' });
  if (!found)
    throw new UserError(id === undefined ? 'no build log is kept yet' : `no build ${id}`, {
      hint: 'tsbuild history lists the builds whose logs are kept',
    });
  const plain = new PlainRenderer(process.stdout);
  for (const e of found.events) plain.onEvent(e);
  plain.close();
  const result = found.events.findLast((e) => e.type === 'result');
  if (result?.type !== 'result') process.stdout.write('#- the build did not finish (killed, or still running)\n');
  else if (result.result.ok) {
    const r = result.result;
    process.stdout.write([`image ${r.imageId}`, `manifest ${r.manifestDigest}`, ...r.outputs].join('\n') + '\n');
  } else process.stdout.write(`ERROR: ${result.result.error}\n`);
}

/**
 * The config's history, newest first, each step with the layer it made (an `empty_layer` step
 * made none: 0B). As docker, only the top row carries the image's ID; the others are `<missing>`,
 * since no image of its own stands for an inner step. SIZE is the layer blob as stored.
 */
export function historyRows(details: ImageDetails, noTrunc: boolean, now = Date.now()) {
  let layer = 0;
  const rows = (details.config.history ?? []).map((h) => {
    const size = h.empty_layer ? 0 : (details.layers[layer++]?.size ?? 0);
    const by = (h.created_by ?? '').replaceAll('\t', ' ');
    return {
      Comment: h.comment ?? '',
      CreatedAt: createdAt(h.created),
      CreatedBy: noTrunc ? by : ellipsis(by, 45),
      CreatedSince: createdSince(h.created, now),
      ID: '<missing>',
      Size: humanSize(size),
    };
  });
  rows.reverse();
  if (rows[0]) rows[0].ID = formatImageId(details.id, noTrunc);
  return rows;
}
