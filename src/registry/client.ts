import { Readable } from 'node:stream';
import { UserError } from '../errors.js';
import { type ContentStore, DigestMismatchError, sha256Digest } from '../store/content-store.js';
import type { Descriptor, Digest } from '../image/types.js';
import type { HttpResponse } from './http.js';
import {
  MANIFEST_ACCEPT,
  checkLayersMatchConfig,
  parseConfig,
  parseManifest,
  type ParsedManifest,
} from './manifest.js';
import { formatPlatform, selectManifest, type PlatformSpec } from './platform.js';
import type { ImageReference } from './reference.js';
import type { RegistryResolvedImage } from './resolved-image.js';
import { RegistrySession, type RegistrySessionOptions } from './session.js';
import { backoff, describeCause, errorSummary, isSlow, isTransient, sleep } from './transport.js';

export type { RegistryResolvedImage } from './resolved-image.js';

export type RegistryClientOptions = RegistrySessionOptions;

export interface CallOptions {
  signal?: AbortSignal;
}

export interface FetchBlobOptions extends CallOptions {
  /**
   * Told the bytes received so far, with the blob's size: once as the download starts and then
   * per chunk (the caller throttles what it shows). Not called for a blob already in the store,
   * nor for a caller that joins a download already under way.
   */
  onBytes?: (done: number, total: number) => void;
}

// A manifest is a small JSON document; anything bigger is not one, and is not read into memory.
// containerd's MaxManifestSize, to the byte (its 4 * 1048 * 1048 is 4 MiB with a typo kept).
export const MANIFEST_MAX_BYTES = 4 * 1048 * 1048;
// An index may point at an index; more than this is a loop or an attack, not an image.
const MAX_INDEX_DEPTH = 4;

interface LoadedManifest {
  descriptor: Descriptor;
  parsed: ParsedManifest;
}

/** A pull client for the distribution API (docker registry v2 / OCI distribution). */
export class RegistryClient {
  /** Shared with the pusher, so tokens and what each registry speaks are learnt once. */
  readonly session: RegistrySession;
  private readonly attempts: number;
  // One download per blob and store at a time, however many build steps ask for it.
  private readonly downloads = new Map<string, Promise<void>>();

  constructor(opts: RegistryClientOptions = {}) {
    this.session = new RegistrySession(opts);
    this.attempts = Math.max(1, opts.attempts ?? 3);
  }

  /** Closes every connection, idle or in use: for when the build is done with the registry. */
  close(): void {
    this.session.close();
  }

  /**
   * The digest a tag points at now, by one HEAD request (Docker-Content-Digest), or undefined
   * when the registry does not say (then a GET is needed to know).
   */
  async headManifest(ref: ImageReference, opts: CallOptions = {}): Promise<Digest | undefined> {
    const display = ref.withDefaultTag().familiar();
    const res = await this.send(
      ref,
      'HEAD',
      this.session.repoUrl(ref.registry, ref.repository, `manifests/${ref.manifestReference}`),
      `manifest of ${display}`,
      opts.signal,
      { accept: MANIFEST_ACCEPT.join(', ') },
    );
    res.discard();
    if (res.status === 404)
      throw new UserError(`image not found: ${display}`, {
        detail: `registry ${ref.registry} answered: 404 Not Found`,
      });
    const digest = res.header('docker-content-digest');
    return res.status === 200 && digest && /^sha256:[a-f0-9]{64}$/.test(digest) ? (digest as Digest) : undefined;
  }

  /**
   * Resolves `ref` to the single-platform image for `platform`: fetches the manifest (following an
   * index), verifies digests, and puts manifest and config into `store`. Layers are left to
   * fetchBlob. A reference pinned by digest whose blobs are already in the store needs no network.
   */
  async resolve(
    ref: ImageReference,
    platform: PlatformSpec,
    store: ContentStore,
    opts: CallOptions = {},
  ): Promise<RegistryResolvedImage> {
    const display = ref.withDefaultTag().familiar();
    const top = await this.loadManifest(ref, ref.manifestReference, ref.digest, undefined, store, display, opts.signal);
    let current = top;
    let indexDescriptor: Descriptor | undefined;
    for (let depth = 0; current.parsed.kind === 'index'; depth++) {
      if (depth >= MAX_INDEX_DEPTH)
        throw new UserError(`${display}: indexes nested deeper than ${MAX_INDEX_DEPTH} levels`);
      indexDescriptor ??= current.descriptor;
      const manifests = current.parsed.index.manifests;
      const chosen = selectManifest(manifests, platform);
      if (!chosen) {
        const available = manifests.filter((d) => d.platform).map((d) => formatPlatform(d.platform!));
        throw new UserError(`${display} has no image for platform ${formatPlatform(platform)}`, {
          hint: available.length ? `it has images for: ${[...new Set(available)].join(', ')}` : undefined,
        });
      }
      current = await this.loadManifest(ref, chosen.digest, chosen.digest, chosen, store, display, opts.signal);
    }
    const manifest = current.parsed.manifest;
    const configDescriptor = manifest.config;
    await this.fetchBlob(ref, configDescriptor, store, opts);
    const config = parseConfig(await store.read(configDescriptor.digest), `config of ${display}`);
    checkLayersMatchConfig(manifest, config, display);
    return {
      source: ref.toString(),
      ref: ref.withDigest(top.descriptor.digest),
      manifestDescriptor: current.descriptor,
      manifest,
      configDescriptor,
      config,
      ...(indexDescriptor ? { indexDescriptor } : {}),
    };
  }

  /**
   * The single manifest `ref` names, as it is (no platform selection), verified and put into
   * `store`: for artifacts such as an exported build cache, which are not images to run.
   */
  async fetchManifest(
    ref: ImageReference,
    store: ContentStore,
    opts: CallOptions = {},
  ): Promise<{ descriptor: Descriptor; manifest: import('../image/types.js').ImageManifest }> {
    const display = ref.withDefaultTag().familiar();
    const loaded = await this.loadManifest(
      ref,
      ref.manifestReference,
      ref.digest,
      undefined,
      store,
      display,
      opts.signal,
    );
    if (loaded.parsed.kind !== 'manifest') throw new UserError(`${display} is an image index, not a single manifest`);
    return { descriptor: loaded.descriptor, manifest: loaded.parsed.manifest };
  }

  /** Streams a blob (layer or config) of `ref`'s repository into `store`, verifying digest and size. */
  async fetchBlob(
    ref: ImageReference,
    desc: Descriptor,
    store: ContentStore,
    opts: FetchBlobOptions = {},
  ): Promise<void> {
    if (await store.has(desc.digest)) return;
    const key = `${store.root}\0${desc.digest}`;
    let running = this.downloads.get(key);
    if (!running) {
      running = this.download(ref, desc, store, opts.signal, opts.onBytes).finally(() => this.downloads.delete(key));
      this.downloads.set(key, running);
    }
    return running;
  }

  private async download(
    ref: ImageReference,
    desc: Descriptor,
    store: ContentStore,
    signal: AbortSignal | undefined,
    onBytes: ((done: number, total: number) => void) | undefined,
  ): Promise<void> {
    const display = ref.withDefaultTag().familiar();
    const what = `blob ${desc.digest} of ${display}`;
    const url = this.session.repoUrl(ref.registry, ref.repository, `blobs/${desc.digest}`);
    const first = await this.send(ref, 'GET', url, what, signal, { stream: true });
    if (first.status === 404) {
      first.discard();
      throw new UserError(`${what} is missing from registry ${ref.registry}`, {
        hint: 'the image in the registry is incomplete; push it again',
      });
    }
    if (first.status !== 200) throw await unexpected(first, what, ref.registry);
    // The answer being read now. Ingest may not read it at all (another build committed the blob
    // meanwhile), and a generator that never started runs no finally: an unread answer holds its
    // socket, and the process, until the idle timeout.
    const reading = { res: first };
    onBytes?.(0, desc.size);
    const body = Readable.from(this.resumable(ref, url, desc, what, reading, signal, onBytes));
    try {
      await store.ingest(body, { digest: desc.digest, size: desc.size }, what);
    } catch (err) {
      if (err instanceof DigestMismatchError) {
        const size = err.what.endsWith(' size');
        throw new UserError(
          `${size ? 'size' : 'digest'} mismatch in ${what} from registry ${ref.registry}: expected ${err.expected}, got ${err.actual}`,
          {
            cause: err,
            hint: 'the registry (or something between it and you) served different content than the manifest names',
          },
        );
      }
      if (signal?.aborted || err instanceof UserError) throw err;
      if (isSlow(err)) throw this.session.failure(ref.registry, url, what, display, err);
      if (isTransient(err))
        throw new UserError(`download of ${what} from registry ${ref.registry} failed: ${describeCause(err)}`, {
          cause: err,
        });
      throw err;
    } finally {
      if (!reading.res.body.readableEnded) reading.res.body.destroy();
    }
  }

  /**
   * The bytes of a blob, resuming with a Range request where a broken connection cut them off
   * (a 200 answer to the Range request is skipped up to where we were). Stops early when the
   * registry sends more than the descriptor's size: the store's size check then fails.
   */
  private async *resumable(
    ref: ImageReference,
    url: URL,
    desc: Descriptor,
    what: string,
    reading: { res: HttpResponse },
    signal: AbortSignal | undefined,
    onBytes: ((done: number, total: number) => void) | undefined,
  ): AsyncGenerator<Buffer> {
    let res = reading.res;
    let received = 0;
    let skip = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          let c = chunk;
          if (skip > 0) {
            const n = Math.min(skip, c.length);
            skip -= n;
            c = c.subarray(n);
            if (c.length === 0) continue;
          }
          received += c.length;
          if (received > desc.size) {
            res.body.destroy();
            throw new DigestMismatchError(`${desc.size} bytes`, `more than ${desc.size} bytes`, `${what} size`);
          }
          onBytes?.(received, desc.size);
          yield c;
        }
        if (received >= desc.size) return;
        // A clean end short of the size: the connection was closed early, or the blob is short.
      } catch (err) {
        if (err instanceof DigestMismatchError || signal?.aborted || !isTransient(err)) throw err;
        if (attempt >= this.attempts) throw err;
      }
      if (attempt >= this.attempts) return; // short: ingest reports the size mismatch
      await sleep(backoff(attempt), signal);
      res = reading.res = await this.send(ref, 'GET', url, what, signal, { range: `bytes=${received}-`, stream: true });
      if (res.status === 206) {
        const start = /^bytes (\d+)-/.exec(res.header('content-range') ?? '')?.[1];
        if (Number(start) !== received) {
          res.discard();
          throw new UserError(
            `${what}: registry ${ref.registry} resumed the download at the wrong offset (${start ?? 'none'} instead of ${received})`,
          );
        }
        skip = 0;
      } else if (res.status === 200) {
        skip = received;
      } else {
        // 416 and the like: nothing more to get; ingest reports the size mismatch
        res.discard();
        return;
      }
    }
  }

  private send(
    ref: ImageReference,
    method: 'GET' | 'HEAD',
    url: URL,
    what: string,
    signal: AbortSignal | undefined,
    h: { accept?: string; range?: string; stream?: boolean } = {},
  ): Promise<HttpResponse> {
    const headers: Record<string, string> = {};
    if (h.accept) headers.accept = h.accept;
    if (h.range) headers.range = h.range;
    return this.session.send(ref.registry, {
      method,
      url,
      headers,
      what,
      access: 'pull',
      scopes: [`repository:${ref.repository}:pull`],
      display: ref.withDefaultTag().familiar(),
      ...(signal ? { signal } : {}),
      ...(h.stream ? { stream: true } : {}),
    });
  }

  /**
   * The manifest named by `reference` (a tag or digest). With `expectedDigest` the bytes must hash
   * to it, and bytes already in the store are used without asking the registry.
   */
  private async loadManifest(
    ref: ImageReference,
    reference: string,
    expectedDigest: Digest | undefined,
    listed: Descriptor | undefined,
    store: ContentStore,
    display: string,
    signal: AbortSignal | undefined,
  ): Promise<LoadedManifest> {
    const what = listed
      ? `${display} (manifest ${listed.digest} for ${formatPlatform(listed.platform ?? { os: '?', architecture: '?' })})`
      : display;
    if (expectedDigest && (await store.has(expectedDigest))) {
      const bytes = await store.read(expectedDigest);
      const parsed = parseManifest(bytes, listed?.mediaType, what);
      return { descriptor: descriptorFor(parsed, expectedDigest, bytes.length, listed), parsed };
    }

    const url = this.session.repoUrl(ref.registry, ref.repository, `manifests/${reference}`);
    let res: HttpResponse;
    let bytes: Buffer;
    // The answer's body is read within the tries too: a registry that stalls or trickles it is asked again.
    for (let attempt = 1; ; attempt++) {
      res = await this.send(ref, 'GET', url, `manifest of ${display}`, signal, { accept: MANIFEST_ACCEPT.join(', ') });
      if (res.status === 404) {
        const summary = await errorSummary(res);
        if (listed)
          throw new UserError(
            `image not found: ${what}: the index lists it, but the registry does not have it (${summary})`,
          );
        throw new UserError(`image not found: ${display}`, { detail: `registry ${ref.registry} answered: ${summary}` });
      }
      if (res.status !== 200) throw await unexpected(res, `manifest of ${display}`, ref.registry);
      const length = Number(res.header('content-length') ?? 0);
      if (length > MANIFEST_MAX_BYTES) {
        res.discard();
        throw new UserError(
          `${what}: registry ${ref.registry} sent a manifest of ${length} bytes; the limit is ${MANIFEST_MAX_BYTES} (as containerd's)`,
        );
      }
      try {
        bytes = await res.buffer(MANIFEST_MAX_BYTES);
        break;
      } catch (err) {
        if ((err as { code?: string }).code === 'ETOOBIG')
          throw new UserError(
            `${what}: registry ${ref.registry} sent a manifest of more than ${MANIFEST_MAX_BYTES} bytes (the limit, as containerd's)`,
          );
        if (signal?.aborted) throw err;
        if (isTransient(err) && attempt < this.attempts) {
          await sleep(backoff(attempt), signal);
          continue;
        }
        if (isSlow(err)) throw this.session.failure(ref.registry, url, `manifest of ${display}`, display, err);
        throw new UserError(
          `download of the manifest of ${display} from registry ${ref.registry} failed: ${describeCause(err)}`,
          { cause: err },
        );
      }
    }

    const digest = sha256Digest(bytes);
    if (expectedDigest && digest !== expectedDigest) {
      throw new UserError(
        `digest mismatch for ${what}: asked for ${expectedDigest}, registry ${ref.registry} sent content with digest ${digest}`,
      );
    }
    // For a tag, the registry's own header is the only thing to check the bytes against.
    const claimed = res.header('docker-content-digest');
    if (!expectedDigest && claimed && claimed.startsWith('sha256:') && claimed !== digest) {
      throw new UserError(
        `digest mismatch for ${what}: registry ${ref.registry} says ${claimed}, the content it sent has digest ${digest}`,
      );
    }
    if (listed && listed.size !== bytes.length) {
      throw new UserError(
        `size mismatch for ${what}: the index says ${listed.size} bytes, the registry sent ${bytes.length}`,
      );
    }
    // An index's entry names its manifest's type; a manifest asked for by tag or digest is what
    // the registry's Content-Type says (containerd's resolver), nothing else.
    const parsed = parseManifest(
      bytes,
      listed ? listed.mediaType : (res.header('content-type') ?? ''),
      what,
      listed ? `the index entry` : `registry ${ref.registry}`,
    );
    await store.put(bytes, parsed.mediaType);
    return { descriptor: descriptorFor(parsed, digest, bytes.length, listed), parsed };
  }
}

/** An answer a well-behaved registry does not give to this request. */
async function unexpected(res: HttpResponse, what: string, registry: string): Promise<UserError> {
  return new UserError(`registry ${registry} answered ${res.status} ${res.statusText} for ${what}`, {
    detail: await errorSummary(res),
  });
}

function descriptorFor(
  parsed: ParsedManifest,
  digest: Digest,
  size: number,
  listed: Descriptor | undefined,
): Descriptor {
  const d: Descriptor = { mediaType: parsed.mediaType, digest, size };
  if (listed?.platform) d.platform = listed.platform;
  return d;
}
