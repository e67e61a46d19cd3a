/**
 * BuildKit's frontend/dockerfile/dockerfile_add_test.go, ported where it runs here (the rest: INDEX.md).
 * Built by the real CLI, as the other ports in this folder.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rig, type Rig } from './behaviours-rig.js';

const rigs: Rig[] = [];
afterAll(async () => {
  for (const r of rigs) await r.cleanup();
});
async function build(files: Record<string, string>) {
  const r = await rig(files);
  rigs.push(r);
  return r.local();
}

describe('BuildKit ADD (dockerfile_add_test.go)', () => {
  it('testAddInvalidChmod', async () => {
    for (const mode of ['64a', '10000']) {
      const res = await build({ Dockerfile: `FROM scratch\nADD --chmod=${mode} foo /\n`, foo: 'foo-contents' });
      expect(res.exitCode).not.toBe(0);
      expect(res.stderr).toContain(
        `invalid chmod parameter: '${mode}'. it should be octal string and between 0 and 07777`,
      );
    }
  });

  describe('testAddChecksum', () => {
    const content = 'content1';
    const sha = (s: string) => createHash('sha256').update(s).digest('hex');
    let server: Server;
    let url = '';
    beforeAll(async () => {
      server = createServer((_req, res) => void res.writeHead(200).end(content));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/foo`;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it('Valid', async () => {
      const res = await build({ Dockerfile: `FROM scratch\nADD --checksum=sha256:${sha(content)} ${url} /tmp/foo\n` });
      expect(res.exitCode, res.stderr).toBe(0);
      expect(await res.read('tmp/foo')).toBe(content);
    });

    it('DigestFromEnv', async () => {
      const res = await build({
        Dockerfile: `FROM scratch\nENV DIGEST=sha256:${sha(content)}\nENV LINK=${url}\nADD --checksum=\${DIGEST} \${LINK} /tmp/foo\n`,
      });
      expect(res.exitCode, res.stderr).toBe(0);
      expect(await res.read('tmp/foo')).toBe(content);
    });

    it.each([
      ['DigestMismatch', `sha256:${sha('')}`],
      ['DigestWithKnownButUnsupportedAlgoName', 'md5:7e55db001d319a94b0b713529a756623'],
      ['DigestWithUnknownAlgoName', `unknown:${sha(content)}`],
      ['DigestWithoutAlgoName', sha(content)],
    ])('%s fails', async (_name, checksum) => {
      const res = await build({ Dockerfile: `FROM scratch\nADD --checksum=${checksum} ${url} /tmp/foo\n` });
      expect(res.exitCode).not.toBe(0);
    });

    it('NonHTTPSource fails', async () => {
      const res = await build({
        Dockerfile: `FROM scratch\nADD --checksum=sha256:${sha('local file')} foo /tmp/foo\n`,
        foo: 'local file',
      });
      expect(res.exitCode).not.toBe(0);
    });
  });
});
