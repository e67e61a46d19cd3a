import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeTree } from './remove-tree.js';

describe('removeTree', () => {
  it('removes a tree deeper than PATH_MAX, which Node rm cannot', async () => {
    const root = await mkdtemp(join(tmpdir(), 'tsbuild-remove-tree-'));
    try {
      // As an overlay mount with a shorter path than the snapshot's makes it: nested dirs down to
      // PATH_MAX, then on through a short alias (a symlink to the deepest), past it
      const segment = 'd'.repeat(200);
      let dir = join(root, 'deep');
      for (let alias = 0; alias < 2; alias++) {
        for (;;) {
          const next = join(dir, segment);
          try {
            await mkdir(next, { recursive: true });
          } catch {
            break;
          }
          dir = next;
        }
        await symlink(dir, join(root, `alias${alias}`));
        dir = join(root, `alias${alias}`);
      }
      // Node's own rm fails on it: that is the case this handles
      await expect(rm(join(root, 'deep'), { recursive: true, force: true })).rejects.toMatchObject({
        code: 'ENAMETOOLONG',
      });
      await removeTree(join(root, 'deep'));
      expect(existsSync(join(root, 'deep'))).toBe(false);
    } finally {
      await rm(root, { recursive: true, force: true }).catch(() => {});
    }
  });
});
