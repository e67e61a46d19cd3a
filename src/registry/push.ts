import { open } from 'node:fs/promises';
import { UserError } from '../errors.js';
import type { ContentStore } from '../store/content-store.js';
import { sha256Digest } from '../store/content-store.js';
import { MediaType, type Descriptor } from '../image/types.js';
import type { BlobSources } from './blob-sources.js';
import type { HttpResponse } from './http.js';
import type { ImageReference } from './reference.js';
import type { RegistrySession, SendOptions } from './session.js';
import { backoff, errorSummary, isTransient, sleep } from './transport.js';

/** What to push: every blob (configs and layers) and every manifest, children before the root. */
export interface PushContent {
  blobs: Descriptor[];
  /** Manifests in push order; the last is the root that the tags name. */
  manifests: { descriptor: Descriptor; bytes: Buffer }[];
}

export interface PushStats {
  uploaded: number;
  mounted: number;
  existing: number;
}

export interface PusherOptions {
  /** Bytes per PATCH; a broken connection costs at most one chunk's progress. */
  chunkSize?: number;
  /** Blobs uploaded at once. */
  parallel?: number;
  /** Tries per chunk after a broken connection, resuming where the registry says it is. */
  attempts?: number;
  signal?: AbortSignal;
  /**
   * Brings a blob that is not in the store yet into it (a base layer the build never needed):
   * asked only when the registry has no copy and none can be mounted. False: nothing has it.
   */
  fetchBlob?: (digest: string) => Promise<boolean>;
  /** Told of each blob once it is in the repository, and how it got there (`from`: the repository it was mounted from). */
  onBlob?: (desc: Descriptor, outcome: keyof PushStats, from?: string) => void;
  /**
   * Told the bytes of a blob the registry has taken so far: once as its upload starts and after
   * each chunk (the caller throttles what it shows). Blobs skipped or mounted send none.
   */
  onBytes?: (desc: Descriptor, done: number, total: number) => void;
}

const DEFAULT_CHUNK = 16 << 20;

/**
 * Pushes an image with the distribution API: for each blob HEAD first (present: nothing to do),
 * then a cross-repository mount when the blob is known to be in another repository of the same
 * registry, else a chunked upload (POST, PATCH with Content-Range…, PUT ?digest=) that resumes
 * from the offset the registry reports after a broken connection; then the manifests, each
 * under its own media type, and finally the root manifest under every tag.
 */
export class Pusher {
  private readonly chunkSize: number;
  private readonly parallel: number;
  private readonly attempts: number;

  constructor(
    private readonly session: RegistrySession,
    private readonly store: ContentStore,
    private readonly sources: BlobSources | undefined,
    private readonly opts: PusherOptions = {},
  ) {
    this.chunkSize = opts.chunkSize ?? DEFAULT_CHUNK;
    this.parallel = opts.parallel ?? 4;
    this.attempts = opts.attempts ?? 5;
  }

  /** Pushes `content` to each reference (all tags of one repository share the uploads). */
  async push(content: PushContent, refs: ImageReference[]): Promise<PushStats> {
    const stats: PushStats = { uploaded: 0, mounted: 0, existing: 0 };
    const byRepo = new Map<string, ImageReference[]>();
    for (const r of refs) byRepo.set(r.name, [...(byRepo.get(r.name) ?? []), r]);
    // One repository after another, so the second can mount what the first uploaded.
    for (const group of byRepo.values()) {
      const repo = group[0]!;
      const queue = [...content.blobs];
      const worker = async () => {
        for (let d = queue.shift(); d; d = queue.shift()) {
          const { outcome, from } = await this.pushBlob(repo, d);
          stats[outcome]++;
          this.opts.onBlob?.(d, outcome, from);
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.parallel, queue.length) }, worker));
      const root = content.manifests.at(-1)!;
      for (const m of content.manifests.slice(0, -1)) await this.putManifest(repo, m.descriptor.digest, m);
      // Naming the image is the push's last, atomic step: once asked for, it is seen through (an
      // aborted request would leave it unknown whether the registry took it); the registry
      // deadlines still bound it.
      this.opts.signal?.throwIfAborted();
      for (const r of group) await this.putManifest(r, r.tag ?? root.descriptor.digest, root, { seeThrough: true });
    }
    return stats;
  }

  private async pushBlob(ref: ImageReference, desc: Descriptor): Promise<{ outcome: keyof PushStats; from?: string }> {
    const what = `blob ${desc.digest}`;
    const head = await this.send(ref, { method: 'HEAD', url: this.url(ref, `blobs/${desc.digest}`), what });
    head.discard();
    if (head.status === 200) {
      await this.sources?.add(desc.digest, ref.registry, ref.repository);
      return { outcome: 'existing' };
    }
    let location: URL | undefined;
    for (const from of (await this.sources?.mountCandidates(desc.digest, ref.registry, ref.repository)) ?? []) {
      const url = this.url(ref, 'blobs/uploads/');
      url.searchParams.set('mount', desc.digest);
      url.searchParams.set('from', from);
      const res = await this.send(ref, { method: 'POST', url, what, extraScopes: [`repository:${from}:pull`] });
      res.discard();
      if (res.status === 201) {
        await this.sources?.add(desc.digest, ref.registry, ref.repository);
        return { outcome: 'mounted', from };
      }
      // 202: the registry could not mount and opened an ordinary upload instead
      if (res.status === 202) {
        location = this.location(res, ref, what);
        break;
      }
    }
    await this.upload(ref, desc, location);
    await this.sources?.add(desc.digest, ref.registry, ref.repository);
    return { outcome: 'uploaded' };
  }

  private async startUpload(ref: ImageReference, what: string): Promise<URL> {
    const res = await this.send(ref, { method: 'POST', url: this.url(ref, 'blobs/uploads/'), what });
    if (res.status !== 202) throw await unexpected(res, ref, `starting the upload of ${what}`);
    res.discard();
    return this.location(res, ref, what);
  }

  private async upload(ref: ImageReference, desc: Descriptor, opened: URL | undefined): Promise<void> {
    const what = `blob ${desc.digest}`;
    if (this.opts.fetchBlob && !(await this.store.has(desc.digest))) await this.opts.fetchBlob(desc.digest);
    let location = opened ?? (await this.startUpload(ref, what));
    const fh = await open(this.store.blobPath(desc.digest), 'r');
    this.opts.onBytes?.(desc, 0, desc.size);
    try {
      let offset = 0;
      let failures = 0;
      while (offset < desc.size) {
        const length = Math.min(this.chunkSize, desc.size - offset);
        const chunk = Buffer.allocUnsafe(length);
        const { bytesRead } = await fh.read(chunk, 0, length, offset);
        if (bytesRead !== length) throw new Error(`${what} is shorter in the content store than its descriptor says`);
        let res: HttpResponse;
        try {
          res = await this.send(ref, {
            method: 'PATCH',
            url: location,
            what,
            retry: false,
            headers: {
              'content-type': 'application/octet-stream',
              'content-range': `${offset}-${offset + length - 1}`,
            },
            body: chunk,
          });
        } catch (err) {
          if (!isTransient((err as { cause?: unknown }).cause ?? err) || ++failures >= this.attempts) throw err;
          await sleep(backoff(failures), this.opts.signal);
          ({ location, offset } = await this.resumePoint(ref, location, what));
          continue;
        }
        if (res.status === 416 || res.status >= 500) {
          // The registry disagrees about where we are (or failed mid-chunk): ask it, go on from there.
          res.discard();
          if (++failures >= this.attempts) throw await unexpected(res, ref, `uploading ${what}`);
          const wasZero = res.status === 416 && offset === 0;
          ({ location, offset } = await this.resumePoint(ref, location, what));
          // `Range: 0-0` means 0 or 1 bytes; 0 was refused, so it holds 1
          if (wasZero && offset === 0) offset = 1;
          continue;
        }
        if (res.status !== 202) throw await unexpected(res, ref, `uploading ${what}`);
        res.discard();
        location = this.location(res, ref, what);
        offset += length;
        this.opts.onBytes?.(desc, offset, desc.size);
      }
    } finally {
      await fh.close();
    }
    const done = new URL(location);
    done.searchParams.set('digest', desc.digest);
    const res = await this.send(ref, { method: 'PUT', url: done, what, retry: false });
    if (res.status !== 201 && res.status !== 204) throw await unexpected(res, ref, `finishing the upload of ${what}`);
    res.discard();
  }

  /** The offset to go on from: GET on the upload says which bytes it holds (`Range: 0-N`). */
  private async resumePoint(
    ref: ImageReference,
    location: URL,
    what: string,
  ): Promise<{ location: URL; offset: number }> {
    const res = await this.send(ref, { method: 'GET', url: location, what });
    res.discard();
    if (res.status >= 400) {
      // The upload is gone (expired, the registry restarted, or it kept part of the broken
      // chunk and now refuses the session, as distribution does): start over.
      return { location: await this.startUpload(ref, what), offset: 0 };
    }
    // distribution says `0-0` for an empty upload as well as for one byte: take the likelier 0
    const m = /^(?:bytes=)?0-(\d+)$/.exec(res.header('range') ?? '');
    const end = m ? Number(m[1]) : -1;
    return {
      location: res.header('location') ? this.location(res, ref, what) : location,
      offset: end > 0 ? end + 1 : 0,
    };
  }

  private async putManifest(
    ref: ImageReference,
    reference: string,
    m: { descriptor: Descriptor; bytes: Buffer },
    opts: { seeThrough?: boolean } = {},
  ): Promise<void> {
    const what = `manifest ${m.descriptor.digest}`;
    const res = await this.send(ref, {
      method: 'PUT',
      url: this.url(ref, `manifests/${reference}`),
      what,
      headers: { 'content-type': m.descriptor.mediaType },
      body: m.bytes,
      ...(opts.seeThrough ? { seeThrough: true } : {}),
    });
    if (res.status !== 201 && res.status !== 200) {
      const err = await unexpected(res, ref, `pushing ${what} as ${ref.familiar()}`);
      if (refusesOciMediaType(m.descriptor.mediaType, res.status, err.detail)) throw new OciManifestRefused(err);
      throw err;
    }
    const digest = res.header('docker-content-digest');
    res.discard();
    if (digest && digest !== sha256Digest(m.bytes)) {
      throw new UserError(`registry ${ref.registry} stored ${what} of ${ref.familiar()} under digest ${digest}`, {
        hint: 'the registry rewrote the manifest; it cannot be pushed there unchanged',
      });
    }
  }

  private url(ref: ImageReference, path: string): URL {
    return this.session.repoUrl(ref.registry, ref.repository, path);
  }

  private location(res: HttpResponse, ref: ImageReference, what: string): URL {
    const loc = res.header('location');
    if (!loc) throw new UserError(`registry ${ref.registry} gave no upload location for ${what} of ${ref.familiar()}`);
    return new URL(loc, res.url);
  }

  private send(
    ref: ImageReference,
    o: Pick<SendOptions, 'method' | 'url' | 'what' | 'headers' | 'body' | 'retry'> & {
      extraScopes?: string[];
      /** Not stopped by the push's abort signal. */
      seeThrough?: boolean;
    },
  ): Promise<HttpResponse> {
    const { seeThrough, ...rest } = o;
    return this.session.send(ref.registry, {
      ...rest,
      what: `${o.what} of ${ref.familiar()}`,
      access: 'push',
      display: ref.familiar(),
      scopes: [`repository:${ref.repository}:pull,push`, ...(o.extraScopes ?? [])],
      ...(this.opts.signal && !seeThrough ? { signal: this.opts.signal } : {}),
    });
  }
}

/**
 * A registry that takes only Docker schema 2 manifests refused an OCI one (415, or 400
 * MANIFEST_INVALID naming the media type: older distribution, some cloud registries). The
 * pipeline then pushes the image again with Docker media types, as buildx does when told
 * `oci-mediatypes=false`.
 */
export class OciManifestRefused extends UserError {
  constructor(cause: UserError) {
    super(cause.message, { ...(cause.detail ? { detail: cause.detail } : {}), cause });
  }
}

function refusesOciMediaType(mediaType: string, status: number, detail: string | undefined): boolean {
  if (mediaType !== MediaType.ociManifest && mediaType !== MediaType.ociIndex) return false;
  if (status === 415) return true;
  return status === 400 && /MANIFEST_INVALID|UNSUPPORTED/i.test(detail ?? '') && /media ?type/i.test(detail ?? '');
}

async function unexpected(res: HttpResponse, ref: ImageReference, doing: string): Promise<UserError> {
  const summary = await errorSummary(res);
  return new UserError(
    `push of ${ref.familiar()} failed: registry ${ref.registry} answered ${res.status} ${res.statusText} when ${doing}`,
    { detail: summary },
  );
}
