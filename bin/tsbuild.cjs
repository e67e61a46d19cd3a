// Entry script, started by bin/tsbuild (the shell launcher; see there why it is one).
//
// `npm run build` compiles src/ into dist/ (tsc) and bundles the CLI into one CommonJS file,
// dist/bundle/tsbuild.cjs (esbuild). The bundle is compiled through vm.Script with V8's code
// cache, kept next to it: node 20 has no compile cache of its own, and parsing and compiling
// 750 KB of JavaScript on every command cost ~45 ms of a ~180 ms no-op build. The bundle is only
// taken while it is at least as new as the compiled CLI, so a later `tsc -p .` alone is never
// shadowed by stale code. CommonJS because an ES module entry starts node's ESM loader, a few
// more milliseconds on every command.
'use strict';
const { existsSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } = require('node:fs');
const { createRequire, wrap } = require('node:module');
const { join } = require('node:path');
const { Script } = require('node:vm');

const bundle = join(__dirname, '..', 'dist', 'bundle', 'tsbuild.cjs');
const compiled = join(__dirname, '..', 'dist', 'cli', 'main.js');

function bundleIsCurrent() {
  try {
    return statSync(bundle).mtimeMs >= statSync(compiled).mtimeMs;
  } catch {
    return false; // no bundle (or no dist at all): the compiled modules say what is missing
  }
}

/** Loads the bundle with V8's code cache; refreshes the cache after a build when it had none. */
function loadBundle(argv, mayWriteCache = true) {
  const cacheFile = `${bundle}.v8-cache`;
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    // first run after a build: compiled from source, the cache is written at exit
  }
  const script = new Script(wrap(readFileSync(bundle, 'utf8')), { filename: bundle, cachedData });
  if (mayWriteCache && (cachedData === undefined || script.cachedDataRejected)) {
    // The cache holds the functions this run compiled, so only a build is worth recording:
    // --help or du would leave the build code out of it.
    const isBuild =
      !argv.slice(2).some((a) => a === '-h' || a === '--help' || a === '-V' || a === '--version') &&
      !['du', 'prune'].includes(argv[2]);
    process.once('exit', (code) => {
      if (code !== 0 || !isBuild) return;
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      try {
        writeFileSync(tmp, script.createCachedData());
        renameSync(tmp, cacheFile);
      } catch {
        // a read-only install runs without the cache, only slower
        try {
          unlinkSync(tmp);
        } catch {}
      }
    });
  }
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, join(bundle, '..'));
  return module.exports;
}

/** The id `npm run bundle` gave this build of the bundle (scripts/write-client-info.mjs); its path and mtime without one. */
function installId() {
  try {
    return readFileSync(join(__dirname, '..', 'dist', 'bundle', 'client-info'), 'utf8').split('\n')[0];
  } catch {
    return `${bundle}\0${statSync(bundle).mtimeMs}`;
  }
}

function runHere() {
  if (bundleIsCurrent()) loadBundle(process.argv).main(process.argv);
  // biome-ignore lint/nursery/noFloatingPromises: a failed import is an unhandled rejection on purpose: Node prints it and exits 1
  else import(compiled).then((m) => m.main(process.argv));
}

// The warm build server (on by default outside CI; TSBUILD_SERVER=0 turns it off; README "The
// build server"): this process is the server when started as one, else a build is handed to it
// through the small client bundle (which decides, serverEligible), and runs here when no server
// answers or the command is not one the server takes.
const serveSocket = process.env.TSBUILD_SERVE_SOCKET;
const client = join(__dirname, '..', 'dist', 'bundle', 'client.cjs');
if (serveSocket) {
  delete process.env.TSBUILD_SERVE_SOCKET;
  // a server that cannot listen dies of the unhandled rejection, which its log shows
  // never its cache: V8 rejects a cache made after a flag changed, and the server exposes gc
  loadBundle([], false).serve(serveSocket);
} else if (bundleIsCurrent() && existsSync(client)) {
  const { serverEligible, runThroughServer } = require(client);
  if (!serverEligible(process.argv.slice(2), process.env, process.geteuid?.())) runHere();
  else
    runThroughServer(process.argv.slice(2), __filename, installId()).then((code) => {
      if (code === undefined) runHere();
      else process.exitCode = code;
    });
} else runHere();
