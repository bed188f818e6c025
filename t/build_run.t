# ./build.sh run, reload and stop as an operator uses them: the first run
# makes the configuration from examples/, edits to it survive reloads,
# stops and restarts, reload and stop act on this server's own pid file
# (never Debian's /run/nginx.pid), a configuration that does not load is
# refused by reload while the server keeps running, and a graceful stop
# returns once nginx has exited, a live publisher included.

use strict;
use warnings;

use Test::More;
use File::Temp qw(tempdir);
use File::Basename qw(dirname);
use Cwd qw(abs_path);
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Time::HiRes qw(time);
use Ams::Nginx;
use Ams::Media qw(poll_until slurp publish wait_publisher);

plan skip_all => 'AMS_MODULES not set (./build.sh test)'
    unless $ENV{AMS_MODULES};
# build.sh runs a plain nginx: the ASan modules need their preload
plan skip_all => 'not under AddressSanitizer' if $ENV{AMS_PRELOAD};

my $root = dirname(dirname(abs_path(__FILE__)));
my $tmp = tempdir('ams-build-run-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $tmp;
my $conf = "$tmp/conf/nginx.conf";
my $prefix = "$tmp/run";

$ENV{AMS_PREFIX} = $prefix;
$ENV{AMS_NO_BUILD} = 1;

sub build_sh {
    my $cmd = join ' ', map { quotemeta } "$root/build.sh", @_;
    my $out = `$cmd 2>&1`;
    return ($? >> 8, $out);
}

sub write_file {
    my ($path, $text) = @_;
    open my $fh, '>', $path or die "$path: $!";
    print $fh $text;
    close $fh;
}

# nginx's master, not yet reaped when it is our child (run_bg)
sub master {
    my $pid = slurp("$prefix/nginx.pid") // return;
    chomp $pid;
    my $stat = slurp("/proc/$pid/stat") // return;
    return $stat =~ /\) Z / ? undef : $pid;
}

sub workers {
    my $m = master() or return ();
    my @pids = sort map { chomp; $_ } `pgrep -P $m`;
    return @pids;
}

my $http = Ams::Nginx::free_port();
my $rtmp = Ams::Nginx::free_port();

sub answers {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $http,
                                  Proto => 'tcp', Timeout => 1) or return 0;
    print $s "GET /rest/v2/version HTTP/1.0\r\n\r\n";
    local $/;
    my $r = <$s> // '';
    return $r =~ /^HTTP\/1\.1 200/ && $r =~ /nginx-ams/;
}

# ./build.sh run in the background, as an operator runs it in a terminal
my ($run_pid, $pub);
sub run_bg {
    $run_pid = fork // die "fork: $!";
    if (!$run_pid) {
        open STDOUT, '>', "$tmp/run.out" or die;
        open STDERR, '>&', \*STDOUT or die;
        exec "$root/build.sh", 'run', $conf or die "exec: $!";
    }
    return poll_until(sub { answers() && workers() == 2 }, 20);
}

sub run_exited {
    poll_until(sub { waitpid($run_pid, WNOHANG) == $run_pid }, 30);
}

END {
    local $?;
    for my $pid (grep { $_ && kill 0, $_ } $pub, $run_pid) {
        kill 'TERM', $pid;
        waitpid $pid, 0;
    }
}

# the first time: the configuration is made from the examples
my ($rc, $out) = build_sh('conf', $conf);
is($rc, 0, 'build.sh conf makes the configuration') or diag $out;
ok(-f $conf && -f "$tmp/conf/ams_media.conf",
   'nginx.conf and ams_media.conf beside it');
my $text = slurp($conf) // '';
like($text, qr/\Q$ENV{AMS_MODULES}\E\/ngx_ams_core_module\.so/,
     'the modules\' path is filled in');
unlike($text . (slurp("$tmp/conf/ams_media.conf") // ''), qr/\@[A-Z]+\@/,
       'no placeholder is left');
like($text, qr/^worker_shutdown_timeout\s+\d+s;/m,
     'the example bounds a graceful stop');

# the operator's edits: ports, two workers, a comment of their own
$text =~ s/listen    1935;/listen    $rtmp;/ or die 'no RTMP listen';
$text =~ s/listen  5080;/listen  $http;/ or die 'no HTTP listen';
$text =~ s/worker_processes  auto;/worker_processes  2;/ or die;
# a busy test machine must not refuse the publisher below
$text =~ s/cpu_limit      75;/cpu_limit      100;/ or die;
$text .= "# the operator's own line\n";
write_file($conf, $text);

ok(run_bg(), 'build.sh run serves the edited configuration')
    or diag slurp("$tmp/run.out");
my $banner = slurp("$tmp/run.out") // '';
like($banner, qr/reload\s+\.\/build\.sh reload \Q$conf\E/,
     'the start prints the reload command');
like($banner, qr/nginx -p \S+ -c \Q$conf\E -e \S+ -s quit/,
     'and nginx\'s own stop command, with this configuration');

($rc, $out) = build_sh('run', $conf);
isnt($rc, 0, 'a second run of the same configuration is refused');
like($out, qr/already runs/, '... saying why');

# reload: new workers; a broken configuration is refused, the old kept
my @old = workers();
($rc, $out) = build_sh('reload', $conf);
is($rc, 0, 'build.sh reload') or diag $out;
ok(poll_until(sub {
    my %o = map { $_ => 1 } @old;
    my @w = workers();
    @w == 2 && 2 == grep { !$o{$_} } @w;
}, 20), 'new workers after the reload, the old ones gone');

my $good = slurp($conf);
write_file($conf, $good . "no_such_directive on;\n");
@old = workers();
($rc, $out) = build_sh('reload', $conf);
isnt($rc, 0, 'a configuration that does not load is not reloaded');
like($out, qr/no_such_directive/, '... and the error names it');
ok(answers(), 'the server still answers');
is_deeply([workers()], \@old, 'with the same workers');
write_file($conf, $good);

# graceful stop: returns once nginx has exited
my $t0 = time;
($rc, $out) = build_sh('stop', $conf);
is($rc, 0, 'build.sh stop') or diag $out;
ok(!master() && !answers(), 'nginx has exited when stop returns');
ok(run_exited(), 'the foreground run has ended');

# edits survive: conf and run again keep the operator's file as it is
($rc, $out) = build_sh('conf', $conf);
is(slurp($conf), $good, 'the configuration is never written again');
ok(run_bg(), 'a new run serves the operator\'s configuration again')
    or diag slurp("$tmp/run.out");
is(scalar(workers()), 2, 'with its two workers');

# a 24/7 encoder does not hold a graceful stop: the example's
# worker_shutdown_timeout (10 s) closes it
$pub = publish("rtmp://127.0.0.1:$rtmp/LiveApp/live", seconds => 300,
                  size => '320x240', log => "$tmp/ffmpeg.log");
ok(poll_until(sub { -s "$prefix/media/LiveApp/streams/live.m3u8" }, 20),
   'a publisher is live') or diag slurp("$tmp/ffmpeg.log");
$t0 = time;
($rc, $out) = build_sh('stop', $conf);
my $took = time - $t0;
is($rc, 0, 'a graceful stop with a live publisher') or diag $out;
cmp_ok($took, '<', 30, 'returns within worker_shutdown_timeout and a margin');
cmp_ok(wait_publisher($pub, 10), '!=', -1, 'the publisher was disconnected');
ok(run_exited(), 'the run has ended');

# without a pid directive, our own pid file is used, not Debian's
(my $nopid = $good) =~ s/^pid\s.*\n//m or die 'no pid line';
write_file($conf, $nopid);
ok(run_bg(), 'a configuration without "pid" runs')
    or diag slurp("$tmp/run.out");
ok(master(), 'its pid file is the prefix\'s nginx.pid');
($rc, $out) = build_sh('reload', $conf);
is($rc, 0, 'reload finds it') or diag $out;
($rc, $out) = build_sh('stop', $conf);
is($rc, 0, 'and stop') or diag $out;
ok(run_exited(), 'the run has ended');

my $log = slurp("$prefix/logs/error.log") // '';
is(join("\n", grep { /exited on signal|\[emerg\]|\[alert\]/
                     && !/no_such_directive/ } split /\n/, $log),
   '', 'no worker crashed, no alert');

done_testing;
