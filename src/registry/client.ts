import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { UserError } from '../errors.js';
import { ContentStore, DigestMismatchError, sha256Digest } from '../cache/content-store.js';
import type { Descriptor, Digest } from '../image/types.js';
import { RegistryAuth, type CredentialsProvider } from './auth.js';
import { MANIFEST_ACCEPT, checkLayersMatchConfig, parseConfig, parseManifest, type ParsedManifest } from './manifest.js';
import { formatPlatform, selectManifest, type PlatformSpec } from './platform.js';
import { isInsecureRegistryHost, type ImageReference } from './reference.js';
import type { RegistryResolvedImage } from './resolved-image.js';
import { USER_AGENT, describeCause, discard, errorSummary, isRedirect, isTlsError, isTransient, sleep } from './transport.js';

export type { RegistryResolvedImage } from './resolved-image.js';

export interface RegistryClientOptions {
  /** Registries (`host[:port]` as in references) spoken to over plain HTTP, besides loopback ones. */
  insecureHosts?: string[];
  credentials?: CredentialsProvider;
  /** Tries per request when the network fails or the registry answers 502/503/504. */
  attempts?: number;
}

export interface CallOptions {
  signal?: AbortSignal;
}

// A manifest is a small JSON document; anything bigger is not one, and is not read into memory.
const MANIFEST_MAX_BYTES = 8 << 20;
// An index may point at an index; more than this is a loop or an attack, not an image.
const MAX_INDEX_DEPTH = 4;

interface LoadedManifest {
  descriptor: Descriptor;
  parsed: ParsedManifest;
}

/** A pull client for the distribution API (docker registry v2 / OCI distribution). */
export class RegistryClient {
  private readonly insecure: Set<string>;
  private readonly auth: RegistryAuth;
  private readonly attempts: number;
  // One download per blob and store at a time, however many build steps ask for it.
  private readonly downloads = new Map<string, Promise<void>>();

  constructor(opts: RegistryClientOptions = {}) {
    this.insecure = new Set(opts.insecureHosts ?? []);
    this.auth = new RegistryAuth(opts.credentials);
    this.attempts = Math.max(1, opts.attempts ?? 3);
  }

  /**
   * Resolves `ref` to the single-platform image for `platform`: fetches the manifest (following an
   * index), verifies digests, and puts manifest and config into `store`. Layers are left to
   * fetchBlob. A reference pinned by digest whose blobs are already in the store needs no network.
   */
  async resolve(ref: ImageReference, platform: PlatformSpec, store: ContentStore, opts: CallOptions = {}): Promise<RegistryResolvedImage> {
    const display = ref.withDefaultTag().familiar();
    const top = await this.loadManifest(ref, ref.manifestReference, ref.digest, undefined, store, display, opts.signal);
    let current = top;
    let indexDescriptor: Descriptor | undefined;
    for (let depth = 0; current.parsed.kind === 'index'; depth++) {
      if (depth >= MAX_INDEX_DEPTH) throw new UserError(`${display}: indexes nested deeper than ${MAX_INDEX_DEPTH} levels`);
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

  /** Streams a blob (layer or config) of `ref`'s repository into `store`, verifying digest and size. */
  async fetchBlob(ref: ImageReference, desc: Descriptor, store: ContentStore, opts: CallOptions = {}): Promise<void> {
    if (await store.has(desc.digest)) return;
    const key = `${store.root}\0${desc.digest}`;
    let running = this.downloads.get(key);
    if (!running) {
      running = this.download(ref, desc, store, opts.signal).finally(() => this.downloads.delete(key));
      this.downloads.set(key, running);
    }
    return running;
  }

  private async download(ref: ImageReference, desc: Descriptor, store: ContentStore, signal: AbortSignal | undefined): Promise<void> {
    const display = ref.withDefaultTag().familiar();
    const what = `blob ${desc.digest} of ${display}`;
    const url = new URL(`blobs/${desc.digest}`, this.base(ref));
    for (let attempt = 1; ; attempt++) {
      const res = await this.get(ref, url, undefined, what, signal);
      if (res.status === 404) {
        await discard(res);
        throw new UserError(`${what} is missing from registry ${ref.registry}`, { hint: 'the image in the registry is incomplete; push it again' });
      }
      if (!res.body) throw new UserError(`${what}: registry ${ref.registry} sent an empty answer`);
      try {
        await store.ingest(Readable.fromWeb(res.body as NodeReadableStream<Uint8Array>), { digest: desc.digest, size: desc.size }, what);
        return;
      } catch (err) {
        if (err instanceof DigestMismatchError) {
          throw new UserError(`digest mismatch in ${what}: expected ${err.expected}, got ${err.actual}`, {
            cause: err,
            hint: 'the registry (or something between it and you) served different content than the manifest names',
          });
        }
        if (signal?.aborted) throw err;
        if (isTransient(err) && attempt < this.attempts) {
          await sleep(backoff(attempt), signal);
          continue;
        }
        if (isTransient(err)) throw new UserError(`download of ${what} failed: ${describeCause(err)}`, { cause: err });
        throw err;
      }
    }
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
    const what = listed ? `${display} (manifest ${listed.digest} for ${formatPlatform(listed.platform ?? { os: '?', architecture: '?' })})` : display;
    if (expectedDigest && (await store.has(expectedDigest))) {
      const bytes = await store.read(expectedDigest);
      const parsed = parseManifest(bytes, listed?.mediaType, what);
      return { descriptor: descriptorFor(parsed, expectedDigest, bytes.length, listed), parsed };
    }

    const url = new URL(`manifests/${reference}`, this.base(ref));
    const res = await this.get(ref, url, MANIFEST_ACCEPT.join(', '), `manifest of ${display}`, signal);
    if (res.status === 404) {
      const summary = await errorSummary(res);
      if (listed) throw new UserError(`image not found: ${what}: the index lists it, but the registry does not have it (${summary})`);
      throw new UserError(`image not found: ${display}`, { detail: `registry ${ref.registry} answered: ${summary}` });
    }
    const length = Number(res.headers.get('content-length') ?? 0);
    if (length > MANIFEST_MAX_BYTES) {
      await discard(res);
      throw new UserError(`${what}: the manifest is ${length} bytes, more than a manifest can reasonably be`);
    }
    const bytes = Buffer.from(await res.arrayBuffer());
    if (bytes.length > MANIFEST_MAX_BYTES) throw new UserError(`${what}: the manifest is more than ${MANIFEST_MAX_BYTES} bytes`);

    const digest = sha256Digest(bytes);
    if (expectedDigest && digest !== expectedDigest) {
      throw new UserError(`digest mismatch for ${what}: asked for ${expectedDigest}, the registry sent content with digest ${digest}`);
    }
    // For a tag, the registry's own header is the only thing to check the bytes against.
    const claimed = res.headers.get('docker-content-digest');
    if (!expectedDigest && claimed && claimed.startsWith('sha256:') && claimed !== digest) {
      throw new UserError(`digest mismatch for ${what}: the registry says ${claimed}, the content it sent has digest ${digest}`);
    }
    if (listed && listed.size !== bytes.length) {
      throw new UserError(`size mismatch for ${what}: the index says ${listed.size} bytes, the registry sent ${bytes.length}`);
    }
    const parsed = parseManifest(bytes, res.headers.get('content-type') ?? listed?.mediaType, what);
    await store.put(bytes, parsed.mediaType);
    return { descriptor: descriptorFor(parsed, digest, bytes.length, listed), parsed };
  }

  /** `scheme://host/v2/<repository>/`; Docker Hub's API lives on registry-1.docker.io. */
  private base(ref: ImageReference): URL {
    const host = ref.registry === 'docker.io' ? 'registry-1.docker.io' : ref.registry;
    const scheme = this.isInsecure(ref.registry) ? 'http' : 'https';
    return new URL(`${scheme}://${host}/v2/${ref.repository}/`);
  }

  private isInsecure(registry: string): boolean {
    return this.insecure.has(registry) || isInsecureRegistryHost(registry);
  }

  /**
   * GET with auth, redirects and retries. Returns 2xx and 404 responses (what a 404 means depends
   * on what was asked); every other outcome becomes a UserError naming the registry.
   * Redirects are followed by hand so that credentials are only ever sent to the registry itself,
   * never to the storage backend a blob request is redirected to.
   */
  private async get(ref: ImageReference, start: URL, accept: string | undefined, what: string, signal: AbortSignal | undefined): Promise<Response> {
    const scope = `repository:${ref.repository}:pull`;
    const origin = this.base(ref).origin;
    const display = ref.withDefaultTag().familiar();
    let url = start;
    let attempt = 1;
    let redirects = 0;
    let authAnswered = false;
    for (;;) {
      const headers: Record<string, string> = { 'user-agent': USER_AGENT };
      if (accept) headers.accept = accept;
      const toRegistry = url.origin === origin;
      const authorization = toRegistry ? this.auth.cached(url.host, scope) : undefined;
      if (authorization) headers.authorization = authorization;

      let res: Response;
      try {
        res = await fetch(url, { headers, redirect: 'manual', signal });
      } catch (err) {
        if (signal?.aborted) throw err;
        if (isTransient(err) && attempt < this.attempts) {
          await sleep(backoff(attempt++), signal);
          continue;
        }
        const where = url.host === ref.registry ? ref.registry : `${ref.registry} (${url.host})`;
        let hint: string | undefined;
        if (isTlsError(err) && !this.isInsecure(ref.registry)) hint = `if ${ref.registry} serves plain HTTP, add it to the insecure registries`;
        else if (/refused/.test(describeCause(err))) hint = 'is the registry running, and is the host and port right?';
        throw new UserError(`cannot reach registry ${where} for ${display}: ${describeCause(err)}`, { cause: err, hint });
      }

      if (isRedirect(res.status)) {
        const location = res.headers.get('location');
        await discard(res);
        if (!location || ++redirects > 10) throw new UserError(`registry ${ref.registry} redirected ${what} ${location ? 'too many times' : 'nowhere'}`);
        url = new URL(location, url);
        continue;
      }
      if (res.status === 401 && toRegistry && !authAnswered) {
        authAnswered = true;
        const challenge = res.headers.get('www-authenticate');
        await discard(res);
        if (await this.auth.answer(ref.registry, url.host, scope, challenge, signal)) continue;
        throw accessDenied(display, ref.registry, '401 Unauthorized');
      }
      if (res.ok || res.status === 404) return res;

      const summary = await errorSummary(res);
      if (res.status === 401 || res.status === 403) throw accessDenied(display, ref.registry, summary);
      if (res.status === 429) {
        throw new UserError(`registry ${ref.registry} is rate limiting requests (429 Too Many Requests) while pulling ${display}`, {
          detail: summary,
          hint: 'wait a while, or authenticate to get a higher limit',
        });
      }
      if ((res.status === 502 || res.status === 503 || res.status === 504) && attempt < this.attempts) {
        await sleep(backoff(attempt++), signal);
        continue;
      }
      throw new UserError(`registry ${ref.registry} failed to serve ${what}: ${res.status} ${res.statusText}`, { detail: summary });
    }
  }
}

function accessDenied(display: string, registry: string, summary: string): UserError {
  return new UserError(`pull access denied for ${display}: the repository does not exist or needs credentials`, {
    detail: `registry ${registry} answered: ${summary}`,
    hint: 'check the image name; for a private image, log in to the registry first',
  });
}

function descriptorFor(parsed: ParsedManifest, digest: Digest, size: number, listed: Descriptor | undefined): Descriptor {
  const d: Descriptor = { mediaType: parsed.mediaType, digest, size };
  if (listed?.platform) d.platform = listed.platform;
  return d;
}

function backoff(attempt: number): number {
  return 200 * 4 ** (attempt - 1);
}
