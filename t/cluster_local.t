# The cluster on one machine, as a user starts it: examples/cluster/local.sh
# brings up the MongoDB wire server, two origins, two edges and the
# balancer.  Through the balancer only (as a client that cannot tell a
# cluster from a node): the four nodes are listed with their roles; a
# stream published over RTMP plays over HLS, DASH and RTMP from the edges
# at the published resolution; "stop" leaves nothing running.

use strict;
use warnings;

use Test::More;
use File::Temp qw(tempdir);
use Ams::Nginx;
use Ams::Media;
use Ams::Rest;
use Ams::WebRTC ();

use FindBin;
my $root = "$FindBin::Bin/..";

my $prefix = tempdir('ams-cluster-XXXXXX', TMPDIR => 1,
                     CLEANUP => !$ENV{AMS_KEEP});
chmod 0755, $prefix;

my %port = map { $_ => Ams::Nginx::free_port() }
    qw(HTTP RTMP RTMP_PLAY NODE_HTTP NODE_RTMP MONGO);

# not "local": the END block that stops the cluster runs after a local
# value is gone, and would stop another prefix's
$ENV{AMS_CLUSTER_PREFIX} = $prefix;
$ENV{AMS_CLUSTER_HTTP} = $port{HTTP};
$ENV{AMS_CLUSTER_RTMP} = $port{RTMP};
$ENV{AMS_CLUSTER_RTMP_PLAY} = $port{RTMP_PLAY};
$ENV{AMS_CLUSTER_NODE_HTTP} = $port{NODE_HTTP};
$ENV{AMS_CLUSTER_NODE_RTMP} = $port{NODE_RTMP};
$ENV{AMS_MONGO_PORT} = $port{MONGO};
# the nodes' WebRTC ports (node N: base + 10 N + worker), free ones
$ENV{AMS_CLUSTER_WEBRTC_PORT} = Ams::WebRTC::free_udp_base(32);

my $local = "$root/examples/cluster/local.sh";

sub cluster { my $out = `'$local' @_ 2>&1`; return ($? >> 8, $out) }

my ($rc, $out) = cluster('start');
is($rc, 0, 'local.sh start') or diag($out);
END { cluster('stop') if $prefix }

my @running = $out =~ /running/g;
is(scalar @running, 6, 'status: four nodes, the balancer and the store run')
    or diag($out);

# the balancer, as the REST helper's "node"
my $lb = bless { ports => { HTTP_PORT => $port{HTTP} } }, 'Ams::Nginx';

my $nodes;
poll_until(sub {
    my ($st, $doc) = rest($lb, 'GET', '/rest/v2/cluster/nodes/0/10');
    $nodes = $doc;
    $st == 200 && ref $doc eq 'ARRAY'
        && (grep { ($_->{status} // '') eq 'ALIVE' } @$doc) == 4;
}, 20);
is(scalar(grep { ($_->{status} // '') eq 'ALIVE' } @{ $nodes || [] }), 4,
   'four nodes ALIVE in cluster/nodes');
is(join(',', sort map { $_->{role} // '?' } @{ $nodes || [] }),
   'edge,edge,origin,origin', 'two origins and two edges');

my ($st, $doc) = rest($lb, 'GET', '/rest/v2/cluster/node-count');
is($doc && $doc->{number}, 4, 'node-count');

my $pub = publish("rtmp://127.0.0.1:$port{RTMP}/LiveApp/stream1",
                  seconds => 40, size => '320x240', rate => 25);

my $hls = "http://127.0.0.1:$port{HTTP}/LiveApp/streams/stream1.m3u8";
my $probe;
poll_until(sub {
    $probe = ffprobe($hls);
    my ($v) = av_streams($probe);
    $v && $v->{width};
}, 30);
my ($v) = av_streams($probe || {});
is($v && "$v->{width}x$v->{height}", '320x240',
   'HLS through the balancer from an edge decodes at 320x240');

my $mpd = "http://127.0.0.1:$port{HTTP}/LiveApp/streams/stream1/stream1.mpd";
poll_until(sub {
    $probe = ffprobe($mpd);
    ($v) = av_streams($probe);
    $v && $v->{width};
}, 20);
($v) = av_streams($probe || {});
is($v && "$v->{width}x$v->{height}", '320x240', 'DASH too');

$probe = ffprobe("rtmp://127.0.0.1:$port{RTMP_PLAY}/LiveApp/stream1",
                 '-rw_timeout', 10000000);
($v) = av_streams($probe);
is($v && "$v->{width}x$v->{height}", '320x240',
   'RTMP through the balancer\'s play port from an edge');

kill 'TERM', $pub;
wait_publisher($pub, 10);

($rc, $out) = cluster('stop');
is($rc, 0, 'local.sh stop');
($rc, $out) = cluster('status');
unlike($out, qr/running/, 'nothing runs after stop') or diag($out);

for my $node (qw(origin1 origin2 edge1 edge2 balancer)) {
    my $log = slurp("$prefix/$node/logs/error.log") // '';
    unlike($log, qr/exited on signal|AddressSanitizer/,
           "$node: no worker crashed");
}

done_testing();
