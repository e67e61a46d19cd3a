// The "build" stage's work: a manifest of the sources, as a bundler would leave.
const { readdirSync, readFileSync, writeFileSync, mkdirSync } = require('node:fs');
const { createHash } = require('node:crypto');
const files = readdirSync(__dirname).sort();
mkdirSync('dist', { recursive: true });
const manifest = files.map(
  (f) =>
    `${createHash('sha256')
      .update(readFileSync(`${__dirname}/${f}`))
      .digest('hex')}  ${f}`,
);
writeFileSync('dist/manifest.txt', `${manifest.join('\n')}\n`);
