/**
 * BuildKit's frontend/dockerfile/dockerfile_heredoc_test.go, ported against our CLI. The ONBUILD
 * test's base image goes through an OCI layout instead of a registry push (the same image bytes).
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { df, rig, type Rig } from './behaviours-rig.js';

const rigs: Rig[] = [];
afterAll(async () => {
  for (const r of rigs) await r.cleanup();
});
async function buildOk(dockerfile: string) {
  const r = await rig({ Dockerfile: dockerfile });
  rigs.push(r);
  const res = await r.local();
  expect(res.exitCode, res.stderr).toBe(0);
  return res;
}
/** Docker's busybox has every applet in /bin; ours (Debian's) has awk in /usr/bin only. */
const AWK_IN_BIN = 'RUN ln -s busybox /bin/awk';
async function expectFiles(res: { read(p: string): Promise<string> }, contents: Record<string, string>) {
  for (const [name, content] of Object.entries(contents)) expect(await res.read(name), name).toBe(content);
}

describe('BuildKit heredocs (dockerfile_heredoc_test.go)', () => {
  it('testCopyHeredoc (the user made without adduser, which our busybox lacks)', async () => {
    const res = await buildOk(
      df(`
FROM busybox AS build

RUN echo 'user:x:1001:1001::/home/user:/bin/sh' >> /etc/passwd && echo 'user:x:1001:' >> /etc/group
WORKDIR /dest

COPY <<EOF single
single file
EOF

COPY <<EOF <<EOF2 double/
first file
EOF
second file
EOF2

RUN mkdir -p /permfiles
COPY --chmod=777 <<EOF /permfiles/all
dummy content
EOF
COPY --chmod=0644 <<EOF /permfiles/rw
dummy content
EOF
COPY --chown=user:user <<EOF /permfiles/owned
dummy content
EOF
RUN stat -c "%04a" /permfiles/all >> perms && \\
	stat -c "%04a" /permfiles/rw >> perms && \\
	stat -c "%U:%G" /permfiles/owned >> perms

FROM scratch
COPY --from=build /dest /`),
    );
    await expectFiles(res, {
      single: 'single file\n',
      'double/EOF': 'first file\n',
      'double/EOF2': 'second file\n',
      perms: '0777\n0644\nuser:user\n',
    });
  });

  it('testCopyHeredocSpecialSymbols', async () => {
    const res = await buildOk(`
FROM scratch

COPY <<EOF quotefile
"quotes in file"
EOF

COPY <<EOF slashfile1
\\
EOF
COPY <<EOF slashfile2
\\\\
EOF
COPY <<EOF slashfile3
\\$
EOF

COPY <<"EOF" rawslashfile1
\\
EOF
COPY <<"EOF" rawslashfile2
\\\\
EOF
COPY <<"EOF" rawslashfile3
\\$
EOF
`);
    await expectFiles(res, {
      quotefile: '"quotes in file"\n',
      slashfile1: '\n',
      slashfile2: '\\\n',
      slashfile3: '$\n',
      rawslashfile1: '\\\n',
      rawslashfile2: '\\\\\n',
      rawslashfile3: '\\$\n',
    });
  });

  it('testRunBasicHeredoc', async () => {
    const res = await buildOk(
      df(`
FROM busybox AS build

RUN <<EOF
echo "i am" >> /dest
whoami >> /dest
EOF

FROM scratch
COPY --from=build /dest /dest`),
    );
    expect(await res.read('dest')).toBe('i am\nroot\n');
  });

  it("testRunFakeHeredoc (with /bin/awk linked, as in Docker's busybox)", async () => {
    const res = await buildOk(
      df(`
FROM busybox AS build
${AWK_IN_BIN}

SHELL ["/bin/awk"]
RUN <<EOF
BEGIN {
	print "foo" > "/dest"
}
EOF

FROM scratch
COPY --from=build /dest /dest`),
    );
    expect(await res.read('dest')).toBe('foo\n');
  });

  it("testRunShebangHeredoc (with /bin/awk linked, as in Docker's busybox)", async () => {
    const res = await buildOk(
      df(`
FROM busybox AS build
${AWK_IN_BIN}

WORKDIR /dest

RUN <<EOF
#!/bin/awk -f
BEGIN {
	print "hello" >> "./out1"
	print "world" >> "./out1"
}
EOF

RUN <<-EOF
	#!/bin/awk -f
	BEGIN {
		print "hello" >> "./out2"
		print "world" >> "./out2"
	}
EOF

FROM scratch
COPY --from=build /dest /`),
    );
    await expectFiles(res, { out1: 'hello\nworld\n', out2: 'hello\nworld\n' });
  });

  it('testRunComplexHeredoc', async () => {
    const res = await buildOk(
      df(`
FROM busybox AS build

WORKDIR /dest

RUN cat <<EOF1 | tr '[:upper:]' '[:lower:]' > ./out1; \\
	cat <<EOF2 | tr '[:lower:]' '[:upper:]' > ./out2
hello WORLD
EOF1
HELLO world
EOF2

RUN <<EOF 3<<IN1 4<<IN2 awk -f -
BEGIN {
	while ((getline line < "/proc/self/fd/3") > 0)
		print tolower(line) > "./fd3"
	while ((getline line < "/proc/self/fd/4") > 0)
		print toupper(line) > "./fd4"
}
EOF
hello WORLD
IN1
HELLO world
IN2

FROM scratch
COPY --from=build /dest /`),
    );
    await expectFiles(res, {
      out1: 'hello world\n',
      out2: 'HELLO WORLD\n',
      fd3: 'hello world\n',
      fd4: 'HELLO WORLD\n',
    });
  });

  it('testHeredocIndent', async () => {
    const res = await buildOk(
      df(`
FROM busybox AS build

COPY <<EOF /dest/foo-copy
	foo
EOF

COPY <<-EOF /dest/bar-copy
	bar
EOF

RUN <<EOF
echo "
	foo" > /dest/foo-run
EOF

RUN <<-EOF
echo "
	bar" > /dest/bar-run
EOF

RUN <<EOF
#!/bin/sh
echo "
	foo" > /dest/foo2-run
EOF

RUN <<-EOF
#!/bin/sh
echo "
	bar" > /dest/bar2-run
EOF

RUN <<EOF sh > /dest/foo3-run
echo "
	foo"
EOF

RUN <<-EOF sh > /dest/bar3-run
echo "
	bar"
EOF

FROM scratch
COPY --from=build /dest /`),
    );
    await expectFiles(res, {
      'foo-copy': '\tfoo\n',
      'foo-run': '\n\tfoo\n',
      'foo2-run': '\n\tfoo\n',
      'foo3-run': '\n\tfoo\n',
      'bar-copy': 'bar\n',
      'bar-run': '\nbar\n',
      'bar2-run': '\nbar\n',
      'bar3-run': '\nbar\n',
    });
  });

  it('testHeredocVarSubstitution', async () => {
    const res = await buildOk(
      df(`
FROM busybox as build

ARG name=world

COPY <<EOF /dest/c1
Hello \${name}!
EOF
COPY <<'EOF' /dest/c2
Hello \${name}!
EOF
COPY <<"EOF" /dest/c3
Hello \${name}!
EOF

COPY <<EOF /dest/q1
Hello '\${name}'!
EOF
COPY <<EOF /dest/q2
Hello "\${name}"!
EOF
COPY <<'EOF' /dest/qsingle1
Hello '\${name}'!
EOF
COPY <<'EOF' /dest/qsingle2
Hello "\${name}"!
EOF
COPY <<"EOF" /dest/qdouble1
Hello '\${name}'!
EOF
COPY <<"EOF" /dest/qdouble2
Hello "\${name}"!
EOF

RUN <<EOF
greeting="Hello"
echo "\${greeting} \${name}!" > /dest/r1
EOF
RUN <<EOF
name="new world"
echo "Hello \${name}!" > /dest/r2
EOF

FROM scratch
COPY --from=build /dest /`),
    );
    await expectFiles(res, {
      c1: 'Hello world!\n',
      c2: 'Hello ${name}!\n',
      c3: 'Hello ${name}!\n',
      q1: "Hello 'world'!\n",
      q2: 'Hello "world"!\n',
      qsingle1: "Hello '${name}'!\n",
      qsingle2: 'Hello "${name}"!\n',
      qdouble1: "Hello '${name}'!\n",
      qdouble2: 'Hello "${name}"!\n',
      r1: 'Hello world!\n',
      r2: 'Hello new world!\n',
    });
  });

  it('testOnBuildHeredoc (the base image through an OCI layout, not a registry)', async () => {
    const base = await rig({ Dockerfile: df('FROM busybox\nONBUILD RUN <<EOF\necho "hello world" >> /dest\nEOF') });
    rigs.push(base);
    const layout = join(base.fx.dir, 'layout');
    const pushed = await base.cli(['-t', 'base:latest', '-o', `type=oci,tar=false,dest=${layout}`]);
    expect(pushed.exitCode, pushed.stderr).toBe(0);
    const child = await rig({
      Dockerfile: `\tFROM oci-layout://${layout}:latest AS base\n\tFROM scratch\n\tCOPY --from=base /dest /dest\n\t`,
    });
    rigs.push(child);
    const res = await child.local(['--allow', `fs.read=${base.fx.dir}`]);
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await res.read('dest')).toBe('hello world\n');
  });
});
