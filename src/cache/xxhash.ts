import xxhash, { type XXHashAPI } from 'xxhash-wasm';

let api: Promise<XXHashAPI> | undefined;

/** xxhash-wasm, initialised once per process (wasm compile is part of start-up cost). */
export function xxh(): Promise<XXHashAPI> {
  api ??= xxhash();
  return api;
}
