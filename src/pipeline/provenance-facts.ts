import { randomBytes } from 'node:crypto';
import type { BuildStep, Material, ProvenanceFacts } from '../exporter/provenance.js';
import { hostPlatform } from '../frontend/platform.js';
import { formatPlatform, type PlatformSpec } from '../registry/platform.js';
import { parseReference } from '../registry/reference.js';
import { inputsFirst, type Vertex } from '../solver/graph.js';
import type { Remote } from '../solver/ops/copy-sources.js';
import { redactUrl } from '../sources/http-download.js';
import type { BuildRequest } from './build-request.js';

/**
 * The package URL BuildKit names an image with in provenance: `pkg:docker/busybox@latest?platform=linux%2Famd64`
 * (familiar name, tag as version, the platform as a qualifier); an OCI layout's is `pkg:oci/…`.
 */
export function imagePurl(ref: string, platform?: PlatformSpec): string {
  const on = platform ? `platform=${encodeURIComponent(formatPlatform(platform))}` : '';
  if (ref.startsWith('oci-layout://')) {
    const rest = ref.slice('oci-layout://'.length);
    const at = rest.lastIndexOf('@');
    const path = at >= 0 ? rest.slice(0, at) : rest;
    const name = path.split('/').filter(Boolean).pop() ?? 'layout';
    return `pkg:oci/${name.split(':')[0]}${on ? `?${on}` : ''}`;
  }
  try {
    const r = parseReference(ref);
    const full = r.familiar();
    const tail = (r.tag !== undefined ? `:${r.tag}` : '') + (r.digest !== undefined ? `@${r.digest}` : '');
    const repo = full.slice(0, full.length - tail.length);
    const version = r.tag !== undefined ? `@${r.tag}` : '';
    const qualifiers = [...(r.digest && !r.tag ? [`digest=${encodeURIComponent(r.digest)}`] : []), ...(on ? [on] : [])];
    return `pkg:docker/${repo}${version}${qualifiers.length ? `?${qualifiers.join('&')}` : ''}`;
  } catch {
    return `pkg:docker/${ref}${on ? `?${on}` : ''}`;
  }
}

/** What every platform's provenance of one build shares; provenanceFacts adds each platform's materials and steps. */
export interface ProvenanceRun {
  startedOn: string;
  invocationId: string;
}

export function provenanceRun(started: number): ProvenanceRun {
  // BuildKit's invocation ids are 25 lowercase base-36 characters
  const id = [...randomBytes(25)].map((b) => (b % 36).toString(36)).join('');
  return { startedOn: new Date(started).toISOString(), invocationId: id };
}

/**
 * The facts of one platform's image: its graph gives the materials (base images with their manifest
 * digests, ADD URLs with a --checksum, git sources pinned to a commit), the secret and ssh ids RUN mounts,
 * and the steps; the request gives the arguments buildx sends as frontend attributes.
 */
export function provenanceFacts(
  req: BuildRequest,
  run: ProvenanceRun,
  target: Vertex,
  platform: PlatformSpec | undefined,
  finishedOn: string,
  dockerfile: { filename: string; data: string },
  /** What each COPY/ADD step's key learnt (Solver.learnedOf). */
  learned?: Map<Vertex, unknown>,
): ProvenanceFacts & { stepOf: Map<Vertex, string> } {
  const vertices = inputsFirst(target);
  const materials: Material[] = [];
  const seenMaterial = new Set<string>();
  const addMaterial = (m: Material): void => {
    const key = `${m.uri}\0${JSON.stringify(m.digest)}`;
    if (seenMaterial.has(key)) return;
    seenMaterial.add(key);
    materials.push(m);
  };
  const secrets = new Map<string, boolean>();
  const ssh = new Map<string, boolean>();
  const ids = new Map<Vertex, string>();
  const steps: BuildStep[] = [];
  const locations: NonNullable<ProvenanceFacts['locations']> = {};
  for (const v of vertices) {
    const op = v.op;
    if (op.type === 'image')
      addMaterial({ uri: imagePurl(op.ref, platform ?? hostPlatform()), digest: sha256Of(op.manifestDigest) });
    if (op.type === 'copy') {
      // what the step's key learnt: each URL's download digest, each git ref's commit
      const known = learned?.get(v);
      for (const [i, s] of op.sources.entries()) {
        const remote = known instanceof Map ? (known.get(i) as Remote | undefined) : undefined;
        if (s.kind === 'url') {
          const digest = s.checksum ?? (remote?.kind === 'url' ? remote.file?.digest : undefined);
          if (digest) addMaterial({ uri: redactUrl(s.url), digest: sha256Of(digest) });
        }
        if (s.kind === 'git') {
          const commit =
            remote?.kind === 'git' ? remote.git.commit : s.ref && /^[0-9a-f]{40}$/.test(s.ref) ? s.ref : '';
          if (commit)
            addMaterial({
              uri: redactUrl(s.ref ? `${s.remote}#${s.ref}` : s.remote),
              digest: { [commit.length === 64 ? 'sha256' : 'sha1']: commit },
            });
        }
      }
    }
    if (op.type === 'exec')
      for (const m of op.mounts ?? []) {
        if (m.type !== 'secret' && m.type !== 'ssh') continue;
        const list = m.type === 'secret' ? secrets : ssh;
        // optional unless some mount of that id requires it
        list.set(m.id, (list.get(m.id) ?? true) && !m.required);
      }
    const id = `step${steps.length}`;
    ids.set(v, id);
    // the instruction's first line (tsbuild keeps where an instruction starts, not where a multi-line one ends)
    if (v.location)
      locations[id] = {
        locations: [{ ranges: [{ start: { line: v.location.line }, end: { line: v.location.line } }] }],
      };
    steps.push({
      id,
      op: { type: op.type, name: v.name, ...(op.type === 'exec' ? { args: op.args } : {}) },
      ...(v.inputs.length ? { inputs: v.inputs.map((i) => `${ids.get(i)}:0`) } : {}),
    });
  }
  // a git context is a material too (after the images, as BuildKit lists it): the repository at the ref, by commit
  const git = req.fetchedContext?.git;
  if (git)
    addMaterial({
      uri: redactUrl(git.ref ? `${git.remote}#${git.ref}` : git.remote),
      digest: { [git.commit.length === 64 ? 'sha256' : 'sha1']: git.commit },
    });
  const args: Record<string, string> = {};
  for (const [k, v] of req.buildArgs) args[`build-arg:${k}`] = v;
  for (const [k, v] of Object.entries(req.labels ?? {})) args[`label:${k}`] = v;
  if (req.target) args.target = req.target;
  for (const [name, spec] of req.namedContexts ?? []) args[`context:${name}`] = namedContextValue(spec);
  // a fetched context (git, URL, stdin) and its Dockerfile are no local directories
  const locals = req.fetchedContext ? [] : ['context', 'dockerfile'];
  for (const [name, spec] of req.namedContexts ?? []) if (spec.kind === 'dir' && !spec.fetched) locals.push(name);
  return {
    invocationId: run.invocationId,
    startedOn: run.startedOn,
    finishedOn,
    entryPoint: dockerfile.filename,
    ...(req.fetchedContext?.url ? { configSourceUri: redactUrl(req.fetchedContext.url) } : {}),
    args,
    locals,
    secrets: [...secrets].map(([id, optional]) => ({ id, optional })),
    ssh: [...ssh].map(([id, optional]) => ({ id, optional })),
    builderPlatform: formatPlatform(hostPlatform()),
    materials,
    dockerfile,
    steps,
    locations,
    stepOf: ids,
  };
}

function namedContextValue(
  spec: NonNullable<BuildRequest['namedContexts']> extends Map<string, infer S> ? S : never,
): string {
  if (spec.kind === 'image') return `docker-image://${spec.ref}`;
  if (spec.kind === 'oci-layout') return spec.ref;
  if (spec.kind === 'dir') return spec.source ? redactUrl(spec.source) : `local:${spec.dir}`;
  return redactUrl(spec.value);
}

const sha256Of = (digest: string): Record<string, string> => {
  const [alg, hex] = digest.includes(':') ? (digest.split(':', 2) as [string, string]) : ['sha256', digest];
  return { [alg]: hex };
};
