/**
 * Issue 10 point 9: a Dockerfile of more than ~1,200 steps ended in "Maximum call stack size
 * exceeded" (exit 70): key computation recursed once per step, and stage conversion once per
 * stage of a FROM chain. Exit 70 must never be the user's fault, however long the Dockerfile.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FROM_BASE, makeFixture, type Fixture } from '../helpers/build-fixture.js';

let fixture: Fixture | undefined;
afterEach(async () => {
  await fixture?.cleanup();
  fixture = undefined;
});

describe('Dockerfiles thousands of steps long', () => {
  it('5,000 steps (ENV and WORKDIR): the graph is solved; the per-stage layer limit is a user error, not a crash', async () => {
    const lines = [`FROM ${FROM_BASE}`];
    for (let i = 0; i < 2_500; i++) lines.push(`ENV STEP=${i}`, 'WORKDIR /w');
    fixture = await makeFixture({ Dockerfile: lines.join('\n') + '\n' });
    const r = await fixture.build();
    // Each WORKDIR is a layer; ~160 fit in one overlay mount, so the build stops at a clear error
    // once it gets there, after keys for all 5,000 steps were made and the first steps ran.
    expect(r.stderr).not.toContain('Maximum call stack size exceeded');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('too many layers to mount');
    // BuildKit numbers FROM and the steps that make a filesystem (the 2,500 WORKDIRs), not ENV
    expect(r.stderr).toMatch(/\[stage-0 +\d+\/2501\] WORKDIR \/w/);
  }, 120_000);

  it('a chain of 1,500 stages, each FROM the one before, builds', async () => {
    const lines = [`FROM ${FROM_BASE} AS s0`];
    for (let i = 1; i <= 1_500; i++) lines.push(`FROM s${i - 1} AS s${i}`, `ENV S${i}=${i}`);
    fixture = await makeFixture({ Dockerfile: lines.join('\n') + '\n' });
    const r = await fixture.build();
    expect(r.stderr).not.toContain('Maximum call stack size exceeded');
    expect(r.exitCode).toBe(0);
    const image = await fixture.unpack();
    const env = (image.config.config as { Env: string[] }).Env;
    expect(env).toHaveLength(1 + 1_500);
    expect(env.at(-1)).toBe('S1500=1500');
  }, 120_000);
});
