import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CacheRecords, type CacheRecord } from './cache-records.js';

const keyOf = (s: string) => createHash('sha256').update(s).digest('hex');

let tmp: string;
let records: CacheRecords;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-cache-records-test-'));
  records = new CacheRecords(join(tmp, 'records'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('CacheRecords', () => {
  const rec: CacheRecord = {
    key: keyOf('step'),
    layers: ['snap-a', 'snap-b'],
    createdAt: '2024-01-02T03:04:05.000Z',
    description: '[build 2/3] RUN make',
    keyInputs: { op: { type: 'exec' }, inputs: ['x'] },
  };

  it('round-trips a record', async () => {
    await records.put(rec);
    expect(await records.get(rec.key)).toEqual(rec);
  });

  it('stores one JSON file per key under a two-character fan-out dir, with no temp files left', async () => {
    await records.put(rec);
    const fan = rec.key.slice(0, 2);
    expect(await readdir(join(tmp, 'records'))).toEqual([fan]);
    expect(await readdir(join(tmp, 'records', fan))).toEqual([`${rec.key}.json`]);
    expect(JSON.parse(await readFile(join(tmp, 'records', fan, `${rec.key}.json`), 'utf8'))).toEqual(rec);
  });

  it('a later put replaces the record', async () => {
    await records.put(rec);
    const newer = { ...rec, layers: ['snap-c'], description: 'again' };
    await records.put(newer);
    expect(await records.get(rec.key)).toEqual(newer);
  });

  it('a record read before is read again when another process replaced or removed its file', async () => {
    await records.put(rec);
    expect(await records.get(rec.key)).toEqual(rec);
    // another process (a daemonless build beside the server) writes by rename, as put does
    const other = new CacheRecords(join(tmp, 'records'));
    const file = join(tmp, 'records', rec.key.slice(0, 2), `${rec.key}.json`);
    const newer = { ...rec, layers: ['snap-z'] };
    await writeFile(`${file}.tmp`, JSON.stringify(newer));
    await rename(`${file}.tmp`, file);
    expect(await other.get(rec.key)).toEqual(newer);
    expect(await records.get(rec.key)).toEqual(newer);
    await rm(file);
    expect(await records.get(rec.key)).toBeUndefined();
  });

  it('touch sets a last use older than ten minutes, and leaves a recent one', async () => {
    await records.put(rec);
    const file = join(tmp, 'records', rec.key.slice(0, 2), `${rec.key}.json`);
    const recent = new Date(Date.now() - 60_000);
    await utimes(file, recent, recent);
    await records.get(rec.key);
    await records.touch([rec.key]);
    expect(Math.round((await stat(file)).mtimeMs)).toBe(recent.getTime());
    const old = new Date(Date.now() - 11 * 60_000);
    await utimes(file, old, old);
    await records.get(rec.key);
    await records.touch([rec.key]);
    expect((await stat(file)).mtimeMs).toBeGreaterThan(Date.now() - 5_000);
    // a record this process never read is touched too
    await utimes(file, old, old);
    await new CacheRecords(join(tmp, 'other-dir')).touch([rec.key]);
    await new CacheRecords(join(tmp, 'records')).touch([keyOf('never-read')]);
  });

  it('an unknown key is undefined', async () => {
    expect(await records.get(keyOf('never'))).toBeUndefined();
  });

  it('a malformed key is undefined on get and refused on put', async () => {
    expect(await records.get('../../etc/passwd')).toBeUndefined();
    expect(await records.get('ABC')).toBeUndefined();
    await expect(records.put({ ...rec, key: '../x' })).rejects.toThrow(/malformed cache key/);
    await expect(records.put({ ...rec, key: rec.key.toUpperCase() })).rejects.toThrow(/malformed cache key/);
  });

  it('a corrupt, truncated or mismatched file reads as a miss', async () => {
    const k = keyOf('corrupt');
    const dir = join(tmp, 'records', k.slice(0, 2));
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `${k}.json`), '{"key":');
    expect(await records.get(k)).toBeUndefined();
    // a record whose key field names another key
    await writeFile(join(dir, `${k}.json`), JSON.stringify({ ...rec }));
    expect(await records.get(k)).toBeUndefined();
    // a record without layers
    await writeFile(join(dir, `${k}.json`), JSON.stringify({ key: k, createdAt: '', description: '' }));
    expect(await records.get(k)).toBeUndefined();
  });
});

describe('CacheRecords step locks', () => {
  it('one holder per key at a time; a second taker waits, then finds the record the first wrote', async () => {
    const key = keyOf('shared step');
    const order: string[] = [];
    const first = await records.lock(key);
    let waited = 0;
    const second = records.lock(key, { onWait: () => waited++ }).then(async (release) => {
      order.push(`second sees ${(await records.get(key))?.description ?? 'nothing'}`);
      return release;
    });
    await new Promise((r) => setTimeout(r, 100));
    await records.put({ key, layers: ['s1'], createdAt: '', description: 'made by first' });
    order.push('first wrote');
    await first();
    await (await second)();
    expect(order).toEqual(['first wrote', 'second sees made by first']);
    expect(waited).toBe(1);
    // other keys are not held up by it
    await (await records.lock(keyOf('other')))();
    expect((await readdir(join(tmp, 'records', key.slice(0, 2)))).sort()).toEqual([`${key}.json`]);
  });

  it('prune sweeps locks dead builds left and keeps live ones', async () => {
    const dead = keyOf('dead');
    const live = keyOf('live');
    await mkdir(join(tmp, 'records', dead.slice(0, 2)), { recursive: true });
    await writeFile(join(tmp, 'records', dead.slice(0, 2), `${dead}.lock`), 'bootid.999999999.1');
    const held = await records.lock(live);
    expect(await records.sweepLocks()).toBe(1);
    expect(await readdir(join(tmp, 'records', live.slice(0, 2)))).toEqual([`${live}.lock`]);
    await held();
  });
});
