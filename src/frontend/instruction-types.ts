/**
 * Typed Dockerfile instructions: one record per instruction, values still unexpanded
 * (variable substitution happens at dispatch, with the stage's ARG/ENV scope, exactly for the
 * fields BuildKit expands). Built from the parser's raw instructions by `instructions.ts`.
 */
import type { SourceLocation } from '../errors.js';

export interface Heredoc {
  /** Delimiter word, without quotes or `-`. */
  name: string;
  /** Body text, lines joined with '\n', with a trailing '\n' when the body has lines (BuildKit's form). */
  content: string;
  /** False when the delimiter was quoted (`<<"EOF"`, `<<'EOF'`): no expansion. */
  expand: boolean;
  /** `<<-EOF`: leading tabs were stripped from body lines. */
  chomp: boolean;
}

interface Base {
  location: SourceLocation;
  /** The instruction as written (continuations joined with spaces, heredoc bodies excluded): used for history and errors. */
  original: string;
  /** Last physical line, heredoc bodies included (where build checks point). */
  endLine: number;
  /** The keyword as written (`From`, `copy`), for ConsistentInstructionCasing. */
  writtenKeyword: string;
  /** The `#` comments right above the instruction (`# check=…` there applies to it; descriptions for outline). */
  comments: string[];
}

export interface FromInstruction extends Base {
  kind: 'FROM';
  image: string;
  /** `AS name`, lowercased as BuildKit does. */
  stageName?: string;
  /** The `AS` name as written. */
  writtenStageName?: string;
  platform?: string;
}

export interface RunInstruction extends Base {
  kind: 'RUN';
  /** Exec form: the argv. Shell form: one element, the command text (heredoc placeholders left in). */
  command: string[];
  /** True for shell form: run through the stage's SHELL. */
  prependShell: boolean;
  heredocs: Heredoc[];
  /** Raw `--mount` values, one per flag, unparsed (CSV with quoting). */
  mounts: string[];
  network?: string;
  security?: string;
  /** Raw `--device` values (`vendor.com/class=name[,required]`), one per flag. */
  devices?: string[];
}

export interface CopyInstruction extends Base {
  kind: 'COPY' | 'ADD';
  /** Source words (unexpanded); heredoc sources appear as `<<NAME` words matching `heredocs`. */
  sources: string[];
  dest: string;
  heredocs: Heredoc[];
  from?: string;
  chown?: string;
  chmod?: string;
  link: boolean;
  parents: boolean;
  exclude: string[];
  /** ADD only. */
  checksum?: string;
  keepGitDir?: boolean;
  unpack?: boolean;
}

export interface KeyValue {
  key: string;
  value: string;
}

export interface EnvInstruction extends Base {
  kind: 'ENV';
  /** Key and value as written (value unexpanded, quotes kept: expansion removes them). */
  pairs: KeyValue[];
  /** Some pair was written `KEY value` (the LegacyKeyValueFormat check). */
  legacyFormat: boolean;
}

export interface LabelInstruction extends Base {
  kind: 'LABEL';
  pairs: KeyValue[];
  legacyFormat: boolean;
}

export interface ArgInstruction extends Base {
  kind: 'ARG';
  /** `ARG name` has value undefined; `ARG name=default` keeps the default unexpanded. */
  args: { key: string; value?: string }[];
}

export interface WorkdirInstruction extends Base {
  kind: 'WORKDIR';
  path: string;
}

export interface UserInstruction extends Base {
  kind: 'USER';
  user: string;
}

export interface ExposeInstruction extends Base {
  kind: 'EXPOSE';
  ports: string[];
}

export interface VolumeInstruction extends Base {
  kind: 'VOLUME';
  volumes: string[];
}

export interface StopSignalInstruction extends Base {
  kind: 'STOPSIGNAL';
  signal: string;
}

export interface CmdInstruction extends Base {
  kind: 'CMD' | 'ENTRYPOINT';
  command: string[];
  prependShell: boolean;
}

export interface ShellInstruction extends Base {
  kind: 'SHELL';
  shell: string[];
}

export interface HealthcheckInstruction extends Base {
  kind: 'HEALTHCHECK';
  /** `["NONE"]` for HEALTHCHECK NONE; otherwise `["CMD", ...argv]` or `["CMD-SHELL", cmd]`. */
  test: string[];
  /** Durations in nanoseconds, as Docker's config stores them; undefined when not given. */
  interval?: number;
  timeout?: number;
  startPeriod?: number;
  startInterval?: number;
  retries?: number;
}

export interface OnbuildInstruction extends Base {
  kind: 'ONBUILD';
  /** The trigger instruction's text, e.g. `RUN echo hi` (keyword uppercased as written). */
  expression: string;
}

export interface MaintainerInstruction extends Base {
  kind: 'MAINTAINER';
  maintainer: string;
}

export type Instruction =
  | FromInstruction
  | RunInstruction
  | CopyInstruction
  | EnvInstruction
  | LabelInstruction
  | ArgInstruction
  | WorkdirInstruction
  | UserInstruction
  | ExposeInstruction
  | VolumeInstruction
  | StopSignalInstruction
  | CmdInstruction
  | ShellInstruction
  | HealthcheckInstruction
  | OnbuildInstruction
  | MaintainerInstruction;

export interface ParsedDirectives {
  escape: '\\' | '`';
  syntax?: string;
  check?: string;
}

export interface Warning {
  /** For a build check, its detail (`Stage name 'Foo' should be lowercase`). */
  message: string;
  location?: SourceLocation;
  /** Last line of the instruction a build check points at. */
  endLine?: number;
  /** Set for BuildKit's build checks (checks/rules.ts); tsbuild's own warnings have none. */
  rule?: { name: string; description: string; url?: string };
}

/** A whole Dockerfile, typed: what the frontend's dispatch consumes. */
export interface DockerfileAst {
  file: string;
  directives: ParsedDirectives;
  instructions: Instruction[];
}
