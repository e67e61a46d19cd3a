import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
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
