# What a node takes from the store's node records is checked before it
# goes into proxy_pass or an RTMP pull: a record whose "ip" is not an IP
# address (a host, a port, a path) or whose ports are out of range is
# ignored, so whoever can write the store cannot make an edge send its
# requests, and its node token, to a host of their choosing, nor keep a
# node ALIVE by stamping its record in the future.  (Found in
# review: an ip of "127.0.0.1:PORT/x?" made the edge fetch
# http://127.0.0.1:PORT/x?:1/... with X-AMS-Cluster-Token.)

use strict;
use warnings;

use Test::More;
use File::Temp qw(tempdir);
use IO::Socket::INET;
use HTTP::Tiny;
use Time::HiRes qw(sleep time);
use Ams::Nginx;
use Ams::Media;

system('sqlite3 -version >/dev/null 2>&1') == 0
    or plan skip_all => 'no sqlite3 tool';

my $PERIOD = 1;
my $dir = tempdir('ams-trust-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{AMS_KEEP});
chmod 0777, $dir;
my $db = "$dir/ams.db";
my $key = 'k' x 40;

my $hls = Ams::Media::slurp('examples/cluster/cluster-hls.conf')
    // die "examples/cluster/cluster-hls.conf: $!";
$hls .= "location \@ams_local { root \$MEDIA; ams_media on; }\n";

my $edge = Ams::Nginx->new(
    workers => 1,
    modules => [qw(core ingest packager api cluster)],
    main_config => <<"EOF",
ams {
    storage                    \$MEDIA;
    database                   sqlite:$db;
    thread_pool                ams;
    bus_zone_size              64m;
    node_address               127.0.0.21;
    node_role                  edge;
    node_update_period         ${PERIOD}s;
    node_http_port             \$HTTP_PORT;
    node_rtmp_port             \$RTMP_PORT;
    cluster_communication_key  $key;
    application LiveApp {}
}
EOF
    http_config => "proxy_cache_path \$PREFIX/cache keys_zone=ams_edge:1m;\n",
    config => "listen 127.0.0.21:\$HTTP_PORT;\n$hls"
        . "location /rest/ { ams_rest; }\n")->start;

# a listener where a forged record points
my $trap = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1',
                                 LocalPort => 0, Proto => 'tcp',
                                 ReuseAddr => 1, Blocking => 0)
    or die "listen: $!";
my $port = $trap->sockport;

# stamped ahead, so the planted node reads ALIVE for the whole test (a
# clock 30 s ahead is within the skew allowed); "future" is a day ahead
my $now = int(time * 1000) + 30000;
my $far = int(time * 1000) + 86400000;
my $sql = <<"SQL";
INSERT INTO docs (coll, app, id, doc) VALUES
 ('clusternode', '', 'evil', json('{"id":"evil","ip":"127.0.0.1:$port/x?","role":"origin","nodeGroup":"default","httpPort":$port,"rtmpPort":1935,"lastUpdateTime":$now}')),
 ('clusternode', '', 'evil2', json('{"id":"evil2","ip":"127.0.0.1","role":"origin","nodeGroup":"default","httpPort":70000,"rtmpPort":1935,"lastUpdateTime":$now}')),
 ('clusternode', '', 'future', json('{"id":"future","ip":"127.0.0.1","role":"origin","nodeGroup":"default","httpPort":$port,"rtmpPort":1935,"lastUpdateTime":$far}')),
 ('broadcast', 'LiveApp', 'planted', json('{"streamId":"planted","status":"broadcasting","originAdress":"evil","updateTime":$now}')),
 ('broadcast', 'LiveApp', 'planted2', json('{"streamId":"planted2","status":"broadcasting","originAdress":"evil2","updateTime":$now}'));
SQL
# the edge writes its heartbeat meanwhile: wait for its lock, not fail
open my $sq, '|-', 'sqlite3', '-cmd', '.timeout 10000', $db
    or die "sqlite3: $!";
print $sq $sql;
close $sq;
is($?, 0, 'records planted in the store');

# the edge's snapshot has had a refresh since
ok(poll_until(sub {
    ($edge->error_log // '') =~ /node record "evil" ignored/
}, 5 * $PERIOD), 'the edge ignores the record whose ip is not an address');
like($edge->error_log, qr/node record "evil2" ignored/,
     'and the one whose port is out of range');

# a record stamped a day ahead would stay ALIVE a day after its node died
my $nodes;
my $list = HTTP::Tiny->new(timeout => 5)->get('http://127.0.0.21:'
    . $edge->http_port . '/rest/v2/cluster/nodes/0/50');
require JSON::PP;
$nodes = eval { JSON::PP::decode_json($list->{content}) } || [];
my ($future) = grep { $_->{id} eq 'future' } @$nodes;
is($future && $future->{status}, 'DEAD',
   'a node record stamped a day ahead reads DEAD');

my $http = HTTP::Tiny->new(timeout => 5);
for my $id (qw(planted planted2)) {
    my $r = $http->get('http://127.0.0.21:' . $edge->http_port
                       . "/LiveApp/streams/$id.m3u8");
    is($r->{status}, 404, "$id: the edge answers 404");
}

sleep 0.2;
my $conn = $trap->accept;
ok(!$conn, 'nothing connected to the host the forged record named');

is($edge->crashes, '', 'no crash');
$edge->stop;

done_testing();
