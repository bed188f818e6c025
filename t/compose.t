# examples/compose/compose.yaml brought up as a user would, with
# podman-compose: two origins and two edges register in the store and the
# balancer, the only service with ports on the host, takes an RTMP
# publisher on its 1935 and serves the stream's HLS from an edge on its
# 5080.  No registry is reachable here, so t/container/compose.test.yaml
# puts the JavaScript wire server's image in place of mongo:7 and the
# image built from this tree in place of the example's build.  The
# project is torn down however the test ends: no container, network or
# volume is left behind.

use strict;
use warnings;

use Test::More;
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use Cwd qw(abs_path);
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(WNOHANG);
use Time::HiRes qw(time);

use lib dirname(abs_path(__FILE__)) . '/lib';
use Ams::Podman ();
use Ams::Media qw(publish wait_publisher poll_until av_streams);

my $root = dirname(dirname(abs_path(__FILE__)));

if (my $why = Ams::Podman::unavailable()) {
    plan skip_all => $why;
}
for my $tool (qw(podman-compose ffmpeg ffprobe curl)) {
    plan skip_all => "$tool is not installed (./build.sh deps)"
        unless Ams::Podman::have($tool);
}
plan skip_all => 't/mongo/node_modules is missing: run ./build.sh deps'
    unless -d "$root/t/mongo/node_modules/\@push.rocks/smartmongo";

my $WIRE = 'localhost/ams-wire-server:test';
my $project = "amscompose$$";
my @files = ('-f', "$root/examples/compose/compose.yaml",
             '-f', "$root/t/container/compose.test.yaml");

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, Proto => 'tcp',
                                  ReuseAddr => 1) or die "no free port: $!";
    return $s->sockport;
}

my %port = (RTMP => free_port(), RTMP_PLAY => free_port(),
            HTTP => free_port());
$ENV{AMS_RTMP_PORT} = $port{RTMP};
$ENV{AMS_RTMP_PLAY_PORT} = $port{RTMP_PLAY};
$ENV{AMS_HTTP_PORT} = $port{HTTP};
$ENV{AMS_CLUSTER_KEY} = join '', map { ('a'..'z', 0..9)[rand 36] } 1..40;
$ENV{AMS_HEARTBEAT} = '2s';
# the host's CPU, not the nodes', is what admission reads: a build or
# another test busy on this machine must not refuse the publisher
$ENV{AMS_CPU_LIMIT} = 100;
delete $ENV{$_} for qw(AMS_MONGODB_URI AMS_NODE_GROUP AMS_WORKERS);

# podman-compose's output and exit status; a hung podman is killed
sub compose {
    my ($limit, @args) = @_;
    my $cmd = join ' ', 'timeout', '-k', 5, $limit, 'podman-compose',
        '-p', $project, map { Ams::Podman::quote($_) } @files, @args;
    my $out = `$cmd 2>&1`;
    return ($? >> 8, $out);
}

sub container { "${project}_$_[0]_1" }

# the project's containers, volumes and network, whatever state they are
# in: podman-compose 1.0.3's down leaves the network (and would leave
# anonymous volumes, had the services any)
my $up;
sub teardown {
    return unless $up;
    undef $up;
    unless (Test::More->builder->is_passing) {
        for my $s (qw(mongo mongo-init origin1 origin2 edge1 edge2 balancer)) {
            diag("--- $s\n" . `timeout 10 podman logs --tail 15 @{[container($s)]} 2>&1 | grep -v 'GET /rest/v2/liveness'`);
        }
    }
    my ($rc, $out) = compose(120, 'down', '-v', '-t', 5);
    diag("podman-compose down: exit $rc\n$out") if $rc;
    my $label = "label=io.podman.compose.project=$project";
    for (`podman ps -a -q --filter $label 2>/dev/null`) {
        chomp;
        system("podman rm -f -v -t 0 $_ >/dev/null 2>&1");
    }
    for (`podman volume ls -q --filter $label 2>/dev/null`) {
        chomp;
        system("podman volume rm -f $_ >/dev/null 2>&1");
    }
    system("podman network rm -f ${project}_default >/dev/null 2>&1");
}
END {
    local $?;
    teardown();
}
$SIG{$_} = sub { teardown(); exit 1 } for qw(INT TERM);

# the images: this tree's nginx-ams, and the wire server from t/mongo
my $t0 = time;
Ams::Podman::image();
diag(sprintf 'nginx-ams image: %.1f s', time - $t0);

my $stage = tempdir('ams-wire-XXXXXX', TMPDIR => 1, CLEANUP => 1);
system('cp', '-rL', map("$root/t/mongo/$_", qw(server.mjs package.json
    node_modules)), "$root/t/container/wire-server/ready.mjs", $stage) == 0
    or BAIL_OUT('cannot stage the wire server');
my $secs = Ams::Podman::build($stage, $WIRE,
    file => "$root/t/container/wire-server/Dockerfile");
diag(sprintf 'wire server image: %.1f s', $secs);

# the example's own check: without a cluster key it refuses to start
{
    delete local $ENV{AMS_CLUSTER_KEY};
    my (undef, $out) = compose(60, 'ps');
    like($out, qr/set AMS_CLUSTER_KEY/,
         'no AMS_CLUSTER_KEY: podman-compose says to set it');
}

$t0 = time;
$up = 1;
my ($rc, $out) = compose(300, 'up', '-d', '--no-build');
is($rc, 0, 'podman-compose up -d') or diag($out);

my @services = qw(mongo origin1 origin2 edge1 edge2 balancer);
my %state;
my $running = poll_until(sub {
    for my $s (@services) {
        ($state{$s}) = `podman inspect -f '{{.State.Status}}' @{[container($s)]} 2>/dev/null` =~ /(\w+)/;
    }
    !grep { ($state{$_} // '') ne 'running' } @services;
}, 60);
ok($running, 'the store, four nodes and the balancer run')
    or diag(join ', ', map { "$_: " . ($state{$_} // 'missing') } @services);
diag(sprintf 'up: %.1f s', time - $t0);

my ($init) = `podman inspect -f '{{.State.Status}} {{.State.ExitCode}}' @{[container('mongo-init')]} 2>/dev/null` =~ /(\w+ \d+)/;
poll_until(sub {
    ($init) = `podman inspect -f '{{.State.Status}} {{.State.ExitCode}}' @{[container('mongo-init')]} 2>/dev/null` =~ /(\w+ \d+)/;
    ($init // '') =~ /^exited/;
}, 60);
is($init, 'exited 0', 'mongo-init found the store and finished');

# the image's healthcheck, as podman runs it
my %healthy;
poll_until(sub {
    for my $s (grep { !$healthy{$_} } qw(origin1 origin2 edge1 edge2 balancer)) {
        $healthy{$s} = system("timeout 10 podman healthcheck run @{[container($s)]} >/dev/null 2>&1") == 0;
    }
    5 == grep { $_ } values %healthy;
}, 60);
is(join(',', sort grep { $healthy{$_} } keys %healthy),
   'balancer,edge1,edge2,origin1,origin2', 'every node passes the image\'s healthcheck');

# GET on a node's loopback, from inside its container (the image has no
# HTTP client: bash's /dev/tcp); (status, body)
sub node_get {
    my ($service, $path) = @_;
    my $script = 'exec 3<>/dev/tcp/127.0.0.1/5080 || exit 1; '
        . "printf 'GET $path HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3; "
        . 'timeout 5 cat <&3';
    my $resp = `timeout -k 2 10 podman exec @{[container($service)]} bash -c @{[Ams::Podman::quote($script)]} 2>/dev/null`;
    my ($status) = $resp =~ m{^HTTP/1\.\d (\d+)};
    my ($body) = $resp =~ /\r\n\r\n(.*)\z/s;
    return ($status // 0, $body // '');
}

my $nodes = [];
poll_until(sub {
    my ($st, $body) = node_get('edge1', '/rest/v2/cluster/nodes/0/50');
    $nodes = eval { decode_json($body) } || [] if $st == 200;
    (grep { ($_->{status} // '') eq 'ALIVE' } @$nodes) == 4;
}, 60);
my @alive = grep { ($_->{status} // '') eq 'ALIVE' } @$nodes;
is(join(',', sort map { $_->{role} // '?' } @alive), 'edge,edge,origin,origin',
   'two origins and two edges are ALIVE in the store')
    or diag(explain($nodes));

# the balancer reaches an edge: a stream nobody publishes is an edge's
# 404, not the balancer's 502
sub http_status {
    my ($url) = @_;
    my $code = `curl -s -o /dev/null -w '%{http_code}' --max-time 5 '$url'`;
    return $code =~ /^(\d+)$/ ? $1 : 0;
}
my $base = "http://127.0.0.1:$port{HTTP}";
my $code;
poll_until(sub {
    $code = http_status("$base/LiveApp/streams/nobody.m3u8");
    $code == 404;
}, 30);
is($code, 404, 'the balancer\'s HTTP port answers from an edge');

# a publisher on the balancer's RTMP port, started again should the
# balancer not list the origins yet
my $stream = "compose$$";
my $t_pub = time;
my $pub;
my $hls = "$base/LiveApp/streams/$stream.m3u8";
my $probe = {};
poll_until(sub {
    if (!$pub || waitpid($pub, WNOHANG) == $pub) {
        $pub = publish("rtmp://127.0.0.1:$port{RTMP}/LiveApp/$stream",
                       seconds => 20, size => '640x360', rate => 25);
    }
    return 0 unless http_status($hls) == 200;
    my $json = `timeout -k 2 15 ffprobe -v error -rw_timeout 5000000 -show_format -show_streams -of json '$hls' 2>/dev/null`;
    $probe = eval { decode_json($json) } || {};
    my ($v) = av_streams($probe);
    $v && $v->{width};
}, 60);
diag(sprintf 'first playable: %.1f s after the publisher started',
     time - $t_pub);

my ($v, $a) = av_streams($probe);
is($v && "$v->{codec_name} $v->{width}x$v->{height}", 'h264 640x360',
   'HLS through the balancer: H.264 640x360');
is($a && $a->{codec_name}, 'aac', 'with AAC audio');

# the segments play: four seconds decode to four seconds of frames
my $log = `timeout -k 2 40 ffmpeg -hide_banner -nostdin -rw_timeout 5000000 -i '$hls' -map 0:v:0 -t 4 -f null - 2>&1`;
my @frames = $log =~ /frame=\s*(\d+)/g;
my $frames = $frames[-1] // 0;
ok($frames >= 95 && $frames <= 101,
   "4 s of the stream decode to 100 frames at 25 fps (got $frames)")
    or diag($log);

# RTMP players: the balancer's 1936 sends them to an edge, which pulls
# the stream from its origin
my $json = `timeout -k 2 20 ffprobe -v error -rw_timeout 10000000 -show_streams -of json 'rtmp://127.0.0.1:$port{RTMP_PLAY}/LiveApp/$stream' 2>/dev/null`;
($v) = av_streams(eval { decode_json($json) } || {});
is($v && "$v->{width}x$v->{height}", '640x360',
   'RTMP play through the balancer\'s 1936');

kill 'TERM', $pub;
wait_publisher($pub, 10);

teardown();
my $label = "label=io.podman.compose.project=$project";
is(`podman ps -a -q --filter $label` . `podman volume ls -q --filter $label`
   . `podman network ls -q --filter name=^${project}_`, '',
   'down leaves no container, volume or network');

done_testing();
