import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EnvironmentError, UserError } from '../errors.js';
import { runChroot } from './run-chroot.js';

let tree: string;
beforeEach(() => {
  tree = mkdtempSync(join(tmpdir(), 'run-chroot-'));
});
afterEach(() => rmSync(tree, { recursive: true, force: true }));

const step = { args: ['true'], env: [], cwd: '/', user: 'root', network: 'host' as const };

describe('runChroot', () => {
  it('refuses what a step without namespaces or cgroups cannot have, naming the mode', async () => {
    await expect(runChroot({ ...step, tree, network: 'none' })).rejects.toThrow(
      /isolation chroot cannot run a step without network/,
    );
    await expect(runChroot({ ...step, tree, resources: { memoryBytes: 1 << 20 } })).rejects.toThrow(UserError);
    await expect(runChroot({ ...step, tree, ulimits: [{ name: 'nofile', soft: '1', hard: '1' }] })).rejects.toThrow(
      /--ulimit/,
    );
  });

  it('says which tool is missing before touching the tree', async () => {
    const path = process.env.PATH;
    process.env.PATH = join(tree, 'no-such-dir');
    try {
      const err = await runChroot({ ...step, tree }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EnvironmentError);
      expect((err as Error).message).toMatch(/^(setpriv|perl) is not installed/);
    } finally {
      process.env.PATH = path;
    }
  });
});
