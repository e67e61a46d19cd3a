#!/usr/bin/env node
// Prints one line per path under a rootfs: path, type, mode, uid:gid, size, link target, sha256.
// Two images are "the same files" when these listings are equal (mtimes are left out on purpose).
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

const root = process.argv[2];
const seen = new Map();
function walk(rel) {
  for (const name of readdirSync(join(root, rel)).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    const st = lstatSync(join(root, r));
    const type = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'link' : st.isFile() ? 'file' : 'other';
    const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
    let extra = '';
    if (type === 'link') extra = `-> ${readlinkSync(join(root, r))}`;
    if (type === 'file') {
      extra = createHash('sha256')
        .update(readFileSync(join(root, r)))
        .digest('hex')
        .slice(0, 16);
      if (st.nlink > 1) {
        const key = `${st.dev}:${st.ino}`;
        extra += seen.has(key) ? ` hardlink=${seen.get(key)}` : '';
        if (!seen.has(key)) seen.set(key, r);
      }
    }
    console.log(`/${r} ${type} ${mode} ${st.uid}:${st.gid} ${type === 'file' ? st.size : '-'} ${extra}`);
    if (type === 'dir') walk(r);
  }
}
walk('');
