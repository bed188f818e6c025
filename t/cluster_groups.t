# Node groups (issue 9, part 5), AMS's multi-level cluster: a stream
# whose origin is in another node_group crosses groups once per group.
# One origin in group "a", two edges in group "b": players on both edges
# decode the stream, the origin serves exactly one node-token pull (the
# group's relay, whichever edge claimed it first) and the other edge
# pulls from that one; HLS through both edges (cluster-hls.conf) too.
# The relay edge killed (-9): the other edge takes the relay over within
# a few periods, its new players play, and the origin still serves one
# pull to group "b" at a time.  An edge of group "a" pulls from the
# origin as without groups.

use strict;
use warnings;

use Test2::IPC;                  # subtests from forked processes
use Test::More;
use Test2::API qw(run_subtest);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use Time::HiRes qw(sleep time);
use JSON::PP qw(decode_json);
use MIME::Base64 qw(decode_base64);
use Ams::Nginx;
use Ams::Media;
use Ams::Rest;

my $PERIOD = 1;          # node_update_period, seconds
my $KEY = 'groups-test-key-' . ('g' x 32);
my $SIZE = '640x360';

my @stores = ('sqlite');
push @stores, 'mongodb'
    if -d 't/mongo/node_modules/@push.rocks/smartmongo'
    && eval { require Ams::Mongo; 1 };

# HLS on every node from examples/cluster/cluster-hls.conf: its own
# streams from its files (@ams_local), any other through its proxy cache
# from where locate says (the origin, or the group's relay)
my $hls = Ams::Media::slurp('examples/cluster/cluster-hls.conf');
$hls .= <<'EOF' if $hls;
location @ams_local {
    root       $MEDIA;
    ams_media  on;
    types {
        application/vnd.apple.mpegurl  m3u8;
        video/mp2t                     ts;
    }
    add_header  Cache-Control  no-cache;
}
EOF

# the stores' scenarios side by side: each its own process, nodes, ports
# and store (they share nothing; most of their time is waiting)
my @kids;
for my $store (@stores) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        run_subtest("store $store", sub { run_scenario($store) },
                    { buffered => 1 });
        exit 0;
    }
    push @kids, $pid;
}
for my $pid (@kids) {
    waitpid $pid, 0;
    # one that died outside its subtest (a signal) reported nothing
    fail("a store's scenario process died (status $?)") if $?;
}

done_testing();


sub database {
    my ($store) = @_;

    if ($store eq 'mongodb') {
        my $mongo = Ams::Mongo->new;
        return ($mongo->uri, $mongo);
    }

    my $dir = tempdir('ams-groups-XXXXXX', TMPDIR => 1,
                      CLEANUP => !$ENV{AMS_KEEP});
    chmod 0777, $dir;
    return ("sqlite:$dir/ams.db", undef);
}

sub node {
    my (%o) = @_;

    my $server = "listen  $o{address}:\$HTTP_PORT;\n"
        . "location /rest/ { ams_rest; }\n"
        . "location ~ ^/[^/]+/rest/ { ams_rest; }\n";
    my $http = '';

    if ($hls) {
        $server .= $hls
            . "access_log  \$PREFIX/logs/nodes.log  nodes;\n";
        # which node asked: the node token of its proxied requests
        $http = "proxy_cache_path  \$PREFIX/cache  levels=1:2"
            . "  keys_zone=ams_edge:16m  max_size=256m  inactive=1m"
            . "  use_temp_path=off;\n"
            . "log_format  nodes  "
            . "'\$uri \$status \$http_x_ams_cluster_token';\n";
    }

    my $ng = Ams::Nginx->new(
        workers => 2,
        modules => [qw(core ingest packager api cluster)],
        http_config => $http,
        config => $server,
        stream_config => <<"EOF",
server {
    listen  $o{address}:\$RTMP_PORT;
    ams_rtmp;
}
EOF
        main_config => <<"EOF");
ams {
    storage        \$MEDIA;
    database       $o{db};
    thread_pool    ams;
    bus_zone_size  64m;
    cpu_limit      100;
    memory_limit   100;

    node_address               $o{address};
    node_role                  $o{role};
    node_group                 $o{group};
    node_update_period         ${PERIOD}s;
    node_http_port             \$HTTP_PORT;
    node_rtmp_port             \$RTMP_PORT;
    cluster_communication_key  $KEY;
    relay_release_time         3s;
    relay_timeout              5s;

    application LiveApp {
        hls_time  2;
    }
}
EOF
    $ng->start;
    $ng->{address} = $o{address};
    return $ng;
}

sub rtmp_url {
    my ($ng, $path) = @_;
    return "rtmp://$ng->{address}:" . $ng->rtmp_port . "/$path";
}

sub http_url {
    my ($ng, $path) = @_;
    return "http://$ng->{address}:" . $ng->http_port . "/$path";
}

sub count_of {
    my ($ng, $re) = @_;
    my @m = $ng->error_log =~ /$re/g;
    return scalar @m;
}

sub alive_seen {
    my ($ng, @ids) = @_;
    my ($st, $doc) = rest($ng, 'GET', '/rest/v2/cluster/nodes/0/50');
    return 0 unless $st == 200 && ref $doc eq 'ARRAY';
    my %alive = map { $_->{id} => 1 } grep { $_->{status} eq 'ALIVE' } @$doc;
    return !grep { !$alive{$_} } @ids;
}

sub player {
    my ($url, $seconds) = @_;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDERR, '>', '/dev/null';
        open STDOUT, '>', '/dev/null';
        exec 'ffmpeg', '-hide_banner', '-nostdin', '-loglevel', 'error',
            '-rw_timeout', '15000000', '-i', $url, '-t', $seconds,
            '-f', 'null', '-';
        exit 127;
    }
    return $pid;
}

sub size_of {
    my ($url, @extra) = @_;
    my ($v) = av_streams(ffprobe($url, @extra));
    return ($v->{width} // 0) . 'x' . ($v->{height} // 0);
}

sub pulls_from {
    my ($origin, $ng) = @_;
    (my $a = $ng->{address}) =~ s/\./\\./g;
    return count_of($origin, qr/ams access: cluster pull from node "$a"/);
}

# the nodes that fetched HLS files of $name from $ng: { node_id => n }
sub http_pullers {
    my ($ng, $name) = @_;
    my %by;
    my $log = Ams::Media::slurp($ng->prefix . '/logs/nodes.log') // '';
    for (split /\n/, $log) {
        my ($uri, $status, $token) = split / /;
        next unless $uri =~ m{/streams/\Q$name\E} && $token =~ /\.(.+)\./;
        (my $b64 = $1) =~ tr/-_/+\//;
        my $claims = eval { decode_json(decode_base64($b64)) } or next;
        $by{ $claims->{iss} }++;
    }
    return \%by;
}

sub run_scenario {
    my ($store) = @_;
    my ($db, $mongo) = database($store);

    my $origin = node(db => $db, address => '127.0.0.51', role => 'origin',
                      group => 'a');
    my @edges = map {
        node(db => $db, address => "127.0.0.5$_", role => 'edge',
             group => 'b')
    } 2 .. 3;

    ok(poll_until(sub {
        !grep { !alive_seen($_, map { $_->{address} } $origin, @edges) }
            @edges
    }, 10), 'the edges see every node ALIVE');

    my $pub = publish(rtmp_url($origin, 'LiveApp/g1'), seconds => 90,
                      size => $SIZE, rate => 25,
                      log => $origin->prefix . '/publisher.log');
    ok(poll_until(sub {
        my ($st, $doc) = rest($edges[0], 'GET',
                              '/LiveApp/rest/v2/broadcasts/g1');
        $st == 200 && ($doc->{status} // '') eq 'broadcasting';
    }, 15), 'the stream reads broadcasting from an edge');

    # players on both edges at once: both look for the group's relay
    my @players = map { player(rtmp_url($_, 'LiveApp/g1'), 4) } @edges;
    for my $e (@edges) {
        is(size_of(rtmp_url($e, 'LiveApp/g1'), '-rw_timeout', '15000000'),
           $SIZE, "a player on $e->{address} decodes $SIZE");
    }
    for my $p (@players) {
        is(wait_publisher($p, 30), 0, 'a player on an edge decoded 4 s');
    }

    my @relay = grep { pulls_from($origin, $_) } @edges;
    is(scalar @relay, 1, 'one edge of group b pulled from the origin');
    is(count_of($origin, qr/ams access: cluster pull from node/), 1,
       'the origin served exactly one node-token pull');
    my ($r) = @relay;
    my ($f) = grep { $_ != ($r // 0) } @edges;
    BAIL_OUT('no group relay') unless $r && $f;

    my $rport = $r->rtmp_port;
    (my $raddr = $r->{address}) =~ s/\./\\./g;
    is(count_of($f, qr/pull: "LiveApp\/g1" from [\d.:]++(?! ended)/),
       count_of($f, qr/pull: "LiveApp\/g1" from $raddr:$rport(?!\d| ended)/),
       "the other edge ($f->{address}) pulled from the group's relay "
       . "($r->{address}) only");
    cmp_ok(pulls_from($r, $f), '>=', 1,
           'the relay edge served it a node-token pull');
    my $claimed = qr/group relay "LiveApp\/g1\@b" claimed/;
    # (each of its workers that located the stream logs its claim)
    ok(count_of($r, $claimed) >= 1 && count_of($f, $claimed) == 0,
       'the relay edge holds the claim in the store');

    if ($hls) {
        for my $e ($r, $f) {
            is(size_of(http_url($e, 'LiveApp/streams/g1.m3u8')), $SIZE,
               "HLS through $e->{address} decodes $SIZE");
        }
        is(count_of($origin, qr/ams access: cluster pull from node/), 1,
           'still one RTMP pull on the origin');
        is(join(',', sort keys %{ http_pullers($origin, 'g1') }),
           $r->{address}, 'the origin\'s HLS files went to the relay only');
        ok(http_pullers($r, 'g1')->{ $f->{address} },
           'the other edge fetched them from the relay');
    } else {
        note('examples/cluster/cluster-hls.conf missing: no HLS part');
    }

    # the relay killed while the other edge plays through it
    my $running = sub {
        count_of($f, qr/"LiveApp\/g1" from $raddr:$rport(?!\d| ended)/)
            - count_of($f, qr/"LiveApp\/g1" from $raddr:$rport ended/);
    };
    my $long = player(rtmp_url($f, 'LiveApp/g1'), 60);
    ok(poll_until(sub { $running->() > 0 }, 10),
       'the other edge plays through the relay');
    sleep 1;

    my $killed = time;
    kill 'KILL', $r->pid, $r->worker_pids;
    $r->{started} = 0;
    isnt(wait_publisher($long, 10), -1,
         'its player ends when the relay is killed');

    my $size = '';
    ok(poll_until(sub {
        $size = size_of(rtmp_url($f, 'LiveApp/g1'), '-rw_timeout', '4000000');
        $size eq $SIZE;
    }, 8 * $PERIOD + 10), "a new player on $f->{address} decodes $SIZE");
    my $after = time - $killed;
    cmp_ok($after, '<=', 6 * $PERIOD + 8,
           'the other edge took the relay over within a few periods ('
           . sprintf('%.1f', $after) . ' s)');
    is(pulls_from($origin, $f), 1,
       'it pulls from the origin itself, once');
    is(count_of($origin, qr/ams access: cluster pull from node/), 2,
       'the origin served group b one pull at a time (2 in all)');

    if ($hls) {
        is(size_of(http_url($f, 'LiveApp/streams/g1.m3u8')), $SIZE,
           "HLS through $f->{address} decodes $SIZE after the takeover");
        ok(http_pullers($origin, 'g1')->{ $f->{address} },
           'from the origin now');
    }

    cmp_ok(count_of($f, $claimed), '>=', 1, 'its claim says so');

    # an edge of the origin's own group pulls from the origin, no claim
    my $a2 = node(db => $db, address => '127.0.0.54', role => 'edge',
                  group => 'a');
    ok(poll_until(sub { alive_seen($a2, '127.0.0.51') }, 10),
       'an edge of group a sees the origin');
    is(size_of(rtmp_url($a2, 'LiveApp/g1'), '-rw_timeout', '15000000'),
       $SIZE, "a player on it decodes $SIZE");
    is(pulls_from($origin, $a2), 1, 'it pulled from the origin');
    is(count_of($a2, qr/group relay/), 0, 'with no group relay');
    $a2->stop;

    my $released = qr/group relay "LiveApp\/g1\@b" released$/m;

    if ($store eq 'sqlite') {
        # the relay stops while it relays: its exiting worker deletes
        # the claim (an ngx_ams_store_at_exit() hook)
        my $p = player(rtmp_url($f, 'LiveApp/g1'), 30);
        ok(poll_until(sub {
            count_of($f, qr/pull: "LiveApp\/g1" from [\d.:]++(?! ended)/)
                > count_of($f, qr/pull: "LiveApp\/g1" from \S+ ended/)
        }, 10), 'it relays for a new player');
        sleep 1;
        is(count_of($f, $released), 0, 'holding its claim');
        $f->stop;
        is(count_of($f, $released), 1, 'stopped: its claim is deleted');
        kill 'KILL', $p;
        waitpid $p, 0;
    } else {
        # the stream ends: the relay goes, and its claim with it
        kill 'KILL', $pub;
        waitpid $pub, 0;
        ok(poll_until(sub { count_of($f, $released) }, 4 * $PERIOD + 4),
           'the stream ended: the relay deleted its claim');
    }

    kill 'KILL', $pub;
    waitpid $pub, 0;
    is($_->crashes, '', "$_->{address} logged no crash") for $origin, $f;
    $_->stop for $f, $origin;
}
