import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ownerToken, selfOwner } from '../store/owner.js';
import { BuildLog, KEEP_BUILDS, listBuilds, readBuildLog, trimBuildLogs } from './build-log.js';

describe('build logs', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'build-log-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps every event in order, and summarizes the build from its first and last lines', async () => {
    const log = await BuildLog.open(dir, { context: '/ctx', tags: ['app:1'] });
    const v = { id: 'a', name: 'RUN a' };
    log.write({ type: 'vertex.start', vertex: v, time: 1 });
    log.write({ type: 'vertex.log', vertex: v, time: 2, stream: 'stdout', data: 'hello\n' });
    log.write({ type: 'vertex.done', vertex: v, time: 3, durationMs: 2 });
    const result = {
      ok: true as const,
      imageId: 'sha256:c',
      manifestDigest: 'sha256:m',
      names: ['app:1'],
      outputs: [],
    };
    log.write({ type: 'result', time: 4, durationMs: 1500, result });
    await log.close();
    const [b] = await listBuilds(dir);
    expect(b).toMatchObject({ id: log.id, context: '/ctx', tags: ['app:1'], state: 'completed', durationMs: 1500 });
    const read = await readBuildLog(dir);
    expect(read !== 'ambiguous' && read?.events.map((e) => e.type)).toEqual([
      'vertex.start',
      'vertex.log',
      'vertex.done',
      'result',
    ]);
  });

  it('tells a build that was killed (no result, its process gone) from one that runs', async () => {
    const running = await BuildLog.open(dir, { context: '/ctx', tags: [] });
    await new Promise((r) => setTimeout(r, 20)); // the header reaches the file
    const killed = {
      type: 'build',
      id: 'killedbuild',
      time: 1,
      owner: ownerToken({ ...selfOwner(), pid: 2 ** 22 + 1 }),
      context: '/old',
      tags: [],
    };
    await writeFile(join(dir, 'killedbuild.jsonl'), `${JSON.stringify(killed)}\n{"type":"vertex.st`);
    const states = Object.fromEntries((await listBuilds(dir)).map((b) => [b.id, b.state]));
    expect(states).toEqual({ [running.id]: 'running', killedbuild: 'killed' });
    await running.close();
  });

  it('drops the oldest logs past the count and the byte bound', async () => {
    for (let i = 0; i < 5; i++) {
      const f = join(dir, `b${i}.jsonl`);
      await writeFile(f, 'x'.repeat(100));
      await utimes(f, i, i);
    }
    await trimBuildLogs(dir, 3, 10_000);
    expect((await readdir(dir)).sort()).toEqual(['b2.jsonl', 'b3.jsonl', 'b4.jsonl']);
    await trimBuildLogs(dir, 3, 250);
    expect((await readdir(dir)).sort()).toEqual(['b3.jsonl', 'b4.jsonl']);
  });

  it('opening a log leaves at most KEEP_BUILDS of them', async () => {
    for (let i = 0; i < KEEP_BUILDS + 3; i++) await writeFile(join(dir, `old${i}.jsonl`), '{}\n');
    const log = await BuildLog.open(dir, { context: '/ctx', tags: [] });
    await log.close();
    const names = await readdir(dir);
    expect(names).toHaveLength(KEEP_BUILDS);
    expect(names).toContain(`${log.id}.jsonl`);
  });
});
