// Entry of dist/bundle/client.cjs, the thin client bin/tsbuild.cjs loads before the full CLI.
export { runThroughServer } from './server-client.js';
export { serverEligible } from './server-protocol.js';
