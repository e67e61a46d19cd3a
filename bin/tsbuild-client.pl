# The build server's thin client in Perl, which bin/tsbuild runs before node when perl is there.
#
# Why Perl: a build handed to the warm server (README "The build server") spends most of its
# client's life starting node: ~40 ms of a ~70 ms no-op rebuild on the bench machine, for a
# process that only forwards its arguments and relays bytes. perl-base is part of every Debian
# and Ubuntu system (Essential) and starts in ~3 ms with the modules used here, all of them in
# perl-base. This file speaks the protocol of src/cli/server-protocol.ts and does what
# src/cli/server-client.ts does once a server answers; everything else (no server to talk to, a
# busy one, a command the server does not take) is left to node: this process becomes
# `node bin/tsbuild.cjs` with the same arguments, which decides again, starts a server when
# there is none, and runs the build itself. So a mistake here costs speed, never a build.
use strict;
use warnings;
use Cwd ();
use Socket qw(AF_UNIX SOCK_STREAM pack_sockaddr_un);

my ($bin) = $0 =~ m{^(.*)/[^/]*$};
$bin //= '.';
my $entry = "$bin/tsbuild.cjs";

sub run_in_node {
  exec('node', $entry, @ARGV) or die "tsbuild: could not start node: $!\n";
}

# What the bundle step wrote (scripts/write-client-info.mjs): the install's id, the subcommands.
open(my $info, '<', "$bin/../dist/bundle/client-info") or run_in_node();
my $install = <$info>;
my $subcommands = <$info>;
close($info);
run_in_node() unless defined $install && defined $subcommands;
chomp($install, $subcommands);
my %subcommand = map { $_ => 1 } split(' ', $subcommands);

# server-protocol.ts: serverWanted, inCi, serverEligible
sub is_set { my $v = shift; return defined $v && $v ne '' && $v ne 'false' && $v ne '0' }
sub in_ci { return grep { is_set($ENV{$_}) } qw(CI JENKINS_URL TF_BUILD TEAMCITY_VERSION CODEBUILD_BUILD_ID) }
my $setting = $ENV{TSBUILD_SERVER};
my $wanted = defined $setting && $setting ne '' ? is_set($setting) : !in_ci();
run_in_node() unless $wanted && $> == 0 && @ARGV && !$subcommand{ $ARGV[0] } && $ARGV[0] ne 'help';
for (@ARGV) {
  run_in_node() if $_ eq '-' || /=-\z/ || $_ eq '-h' || $_ eq '--help' || $_ eq '-V' || $_ eq '--version'
    || /\A--isolation/;
}

# server-protocol.ts: serverPaths, namespaceIds, fnv1a (the hashed string is ASCII)
my $namespaces = join(' ', map { readlink("/proc/self/ns/$_") // "$_:?" } qw(cgroup ipc mnt net pid user uts));
my $hash = 0x811c9dc5;
for my $byte (unpack('C*', "$install\0$namespaces")) {
  $hash = (($hash ^ $byte) * 0x01000193) % 4294967296;
}
my $runtime = $ENV{XDG_RUNTIME_DIR} ? "$ENV{XDG_RUNTIME_DIR}/tsbuild" : '/run/tsbuild';
$runtime =~ s{/+}{/}g;
my $base = sprintf('%s/server-%08x', $runtime, $hash);
my $path = "$base.sock";
run_in_node() if length($path) > 107;

socket(my $sock, AF_UNIX, SOCK_STREAM, 0) or run_in_node();
connect($sock, pack_sockaddr_un($path)) or run_in_node();

sub json_string {
  my $s = shift;
  $s =~ s/(["\\])/\\$1/g;
  $s =~ s/([\x00-\x1f\x7f])/sprintf('\\u%04x', ord($1))/ge;
  return qq("$s");
}

# TIOCGWINSZ on Linux (x86, arm): rows and columns as node reads them for a terminal
sub terminal_size {
  my $fh = shift;
  my $ws = "\0" x 8;
  return () unless ioctl($fh, 0x5413, $ws);
  my ($rows, $columns) = unpack('S2', $ws);
  return (columns => $columns, rows => $rows);
}

sub terminal_json {
  my $fh = shift;
  return '{"isTTY":false}' unless -t $fh;
  my %size = terminal_size($fh);
  return '{"isTTY":true' . join('', map { qq(,"$_":$size{$_}) } sort keys %size) . '}';
}

my $cwd = Cwd::getcwd();
run_in_node() unless defined $cwd;
my $env = join(',', map { json_string($_) . ':' . json_string($ENV{$_}) } sort keys %ENV);
my $request = '{"argv":[' . join(',', map { json_string($_) } 'node', $entry, @ARGV) . ']'
  . ",\"env\":{$env},\"cwd\":" . json_string($cwd) . ',"umask":' . umask()
  . ',"stdout":' . terminal_json(\*STDOUT) . ',"stderr":' . terminal_json(\*STDERR) . ',"client":"perl"}' . "\n";

sub send_all {
  my ($fh, $bytes) = @_;
  while (length $bytes) {
    my $n = syswrite($fh, $bytes);
    if (!defined $n) {
      next if $!{EINTR};
      return 0;
    }
    substr($bytes, 0, $n) = '';
  }
  return 1;
}

send_all($sock, $request) or run_in_node();

# the first Ctrl-C asks the server to cancel the build; the second leaves at once, as daemonless does
my $signals = 0;
for my $name (qw(INT TERM)) {
  $SIG{$name} = sub {
    exit(130) if ++$signals > 1;
    send_all($sock, qq({"signal":"SIG$name"}\n));
  };
}
if (-t STDERR) {
  $SIG{WINCH} = sub {
    my %size = terminal_size(\*STDERR);
    send_all($sock, qq({"columns":$size{columns},"rows":$size{rows}}\n)) if %size;
  };
}
$SIG{PIPE} = 'IGNORE'; # a closed stdout loses the output, not the build's exit code

my $buffer = '';
my $started = 0;
while (1) {
  my $n = sysread($sock, $buffer, 1 << 16, length $buffer);
  if (!defined $n) {
    next if $!{EINTR};
    last;
  }
  last if $n == 0;
  while (length($buffer) >= 5) {
    my ($type, $length) = unpack('C N', $buffer);
    last if length($buffer) < 5 + $length;
    my $payload = substr($buffer, 5, $length);
    substr($buffer, 0, 5 + $length) = '';
    if ($type == 1) { send_all(\*STDOUT, $payload); $started = 1 }
    elsif ($type == 2) { send_all(\*STDERR, $payload); $started = 1 }
    elsif ($type == 3) { exit(int($payload)) }
    elsif ($type == 4 && !$started) { close($sock); run_in_node() }
  }
}
# the server went away mid-build (killed, or crashed: its log says why)
print STDERR "error: the tsbuild server stopped during the build; its log is $base.log\n";
exit($signals ? 130 : 70);
