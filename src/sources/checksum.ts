/** `--checksum` values: OCI digests for URLs (go-digest's rules), commit hashes for git. */
import { UserError } from '../errors.js';

const HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

export interface Digest {
  algorithm: 'sha256' | 'sha384' | 'sha512';
  hex: string;
}

/** Parses `algo:hex` as go-digest does; a UserError names what is wrong with it. */
export function parseDigest(text: string): Digest {
  const at = text.indexOf(':');
  const hint = 'write the checksum as sha256:<64 hex digits> (sha384 and sha512 work too)';
  if (at <= 0 || at === text.length - 1) throw new UserError(`invalid checksum digest format: "${text}"`, { hint });
  const algorithm = text.slice(0, at);
  const hex = text.slice(at + 1);
  const length = HEX_LENGTH[algorithm];
  if (length === undefined)
    throw new UserError(`unsupported digest algorithm "${algorithm}" in checksum "${text}"`, { hint });
  if (hex.length !== length || !/^[0-9a-f]+$/.test(hex)) {
    throw new UserError(`invalid checksum digest length or characters: "${text}"`, {
      hint: `a ${algorithm} digest is ${length} lowercase hex digits`,
    });
  }
  return { algorithm: algorithm as Digest['algorithm'], hex };
}

/** A git --checksum is a commit hash or a prefix of one, in hex. */
export function parseCommitChecksum(text: string): string {
  if (!/^[0-9a-f]{4,64}$/.test(text)) {
    throw new UserError(`invalid checksum "${text}": expected hex commit hash`, {
      hint: 'give the commit the ref must resolve to, e.g. --checksum=3f2a9c1',
    });
  }
  return text;
}
