# HLS through an edge (issue 9, part 4): the edge has no files of its
# own; examples/cluster/cluster-hls.conf makes nginx fetch them from the
# stream's origin ($ams_origin, found through the store and the node
# snapshot) into its proxy cache, with a node token the origin admits
# without viewer tokens.  A player on the edge decodes the stream; the
# origin sees about one request per segment however many viewers the
# edge has; a stream live nowhere is a 404; so is a stream whose origin
# died, within 4 heartbeat periods.

use strict;
use warnings;

use Test2::IPC;                  # subtests from forked processes
use Test::More;
use Test2::API qw(run_subtest);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use POSIX qw(WNOHANG);
use Time::HiRes qw(time sleep);
use Ams::Nginx;
use Ams::Media;
use Ams::Rest;

my $PERIOD = 1;         # node_update_period, seconds
my $KEY = 'k' x 40;

my $dir = tempdir('ams-edge-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{AMS_KEEP});
chmod 0777, $dir;
my $db;

my @stores = ('sqlite');
push @stores, 'mongodb'
    if eval { require Ams::Mongo; 1 } && -d 't/mongo/node_modules/@push.rocks/smartmongo';

# every node uses the same block: its own streams from its files
# (@ams_local), any other from its origin
my $hls = Ams::Media::slurp('examples/cluster/cluster-hls.conf')
    // die "examples/cluster/cluster-hls.conf: $!";
$hls .= <<'EOF';
location @ams_local {
    root       $MEDIA;
    ams_media  on;
    types {
        application/vnd.apple.mpegurl  m3u8;
        video/mp2t                     ts;
        application/dash+xml           mpd;
        video/mp4                      mp4 m4s;
    }
    add_header  Cache-Control  no-cache;
}
EOF
my ($edge_hls, $origin_hls) = ($hls, $hls);

my $cache = <<'EOF';
proxy_cache_path  $PREFIX/cache  levels=1:2  keys_zone=ams_edge:16m
                  max_size=256m  inactive=1m  use_temp_path=off;
EOF

sub ams_block {
    my (%o) = @_;
    return <<"EOF";
ams {
    storage                    \$MEDIA;
    database                   $db;
    thread_pool                ams;
    bus_zone_size              64m;
    cpu_limit                  100;
    memory_limit               100;
    node_address               $o{address};
    node_role                  $o{role};
    node_update_period         ${PERIOD}s;
    node_http_port             \$HTTP_PORT;
    node_rtmp_port             \$RTMP_PORT;
    cluster_communication_key  $KEY;

    application LiveApp {
        delete_hls_files_on_ended  off;
        dash                       on;
    }
}
EOF
}

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

done_testing;


sub run_scenario {
    my ($store) = @_;
    my $mongo;

    if ($store eq 'mongodb') {
        $mongo = Ams::Mongo->new;
        $db = $mongo->uri;
    } else {
        $db = "sqlite:$dir/ams.db";
    }

    my $origin = Ams::Nginx->new(
        workers => 2,
        modules => [qw(core ingest packager api cluster)],
        main_config => ams_block(address => '127.0.0.11', role => 'origin'),
        stream_config => <<~'EOF',
        server {
            listen  127.0.0.1:$RTMP_PORT;
            listen  127.0.0.11:$RTMP_PORT;
            ams_rtmp;
        }
        EOF
        http_config => $cache,
        config => "listen 127.0.0.11:\$HTTP_PORT;\n$origin_hls\n"
            . "location /rest/ { ams_rest; }\n"
            . "location = /metrics { ams_metrics; }\n")->start;

    my $edge = Ams::Nginx->new(
        workers => 2,
        modules => [qw(core ingest packager api cluster)],
        main_config => ams_block(address => '127.0.0.21', role => 'edge'),
        stream_config => <<~'EOF',
        server {
            listen  127.0.0.1:$RTMP_PORT;
            listen  127.0.0.21:$RTMP_PORT;
            ams_rtmp;
        }
        EOF
        http_config => $cache,
        config => "listen 127.0.0.21:\$HTTP_PORT;\n$edge_hls\n"
            . "location /rest/ { ams_rest; }\n"
            . "location = /metrics { ams_metrics; }\n")->start;

    my $http = HTTP::Tiny->new(timeout => 10);
    diag("origin " . $origin->prefix . ", edge " . $edge->prefix) if $ENV{AMS_KEEP};
    my $edge_url = 'http://127.0.0.1:' . $edge->http_port . '/LiveApp/streams';
    my $origin_url = 'http://127.0.0.1:' . $origin->http_port . '/LiveApp/streams';

    my $pub = publish('rtmp://127.0.0.1:' . $origin->rtmp_port . '/LiveApp/e1',
                      seconds => 60, size => '320x240', rate => 25, audio => 0,
                      log => "$dir/ffmpeg-$store.log");

    ok(poll_until(sub { -s $origin->media . '/LiveApp/streams/e1.m3u8' }, 20),
       'the origin packages the stream');

    my $first = poll_until(sub {
        my $r = $http->get("$edge_url/e1.m3u8");
        $r->{status} == 200 && $r->{content} =~ /#EXTINF/ ? $r : undef;
    }, 20);
    ok($first, 'the edge serves the playlist from the origin')
        or diag($edge->error_log);

    # 1. a player on the edge decodes the stream
    {
        my ($v) = av_streams(ffprobe("$edge_url/e1.m3u8"));
        is($v && "$v->{width}x$v->{height}", '320x240',
           'ffprobe of the edge\'s playlist decodes 320x240 video');

        ($v) = av_streams(ffprobe("$edge_url/e1/e1.mpd"));
        is($v && "$v->{width}x$v->{height}", '320x240',
           'and of its DASH MPD');
    }

    # 2. many viewers on the edge, about one origin request per segment
    my $origin_requests = sub {
        my %n;
        for (split /\n/, Ams::Media::slurp($origin->prefix . '/logs/access.log') // '') {
            $n{$1}++ if m{"GET (/LiveApp/streams/e1[^ ?]*)[^"]*" 200 };
        }
        return \%n;
    };

    my $viewers = 12;
    my $watch = 8;
    my $started = time;
    my @kids;
    for my $i (1 .. $viewers) {
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            my $h = HTTP::Tiny->new(timeout => 10);
            my $deadline = time + $watch;
            my ($ok, $bad) = (0, 0);
            while (time < $deadline) {
                my $r = $h->get("$edge_url/e1.m3u8?subscriberId=v$i");
                $r->{status} == 200 ? $ok++ : $bad++;
                my @segs = grep { !/^#/ && /\S/ } split /\n/, $r->{content} // '';
                if (@segs) {
                    my $s = $h->get("$edge_url/$segs[-1]?subscriberId=v$i");
                    $s->{status} == 200 && length $s->{content} ? $ok++ : $bad++;
                }
                sleep 0.3 + rand 0.4;
            }
            POSIX::_exit($bad ? 1 : 0);
        }
        push @kids, $pid;
    }
    my $failed = 0;
    for (@kids) { waitpid $_, 0; $failed++ if $? }
    my $watched = time - $started;
    is($failed, 0, "$viewers viewers fetch playlists and segments from the edge");

    # the edge counts its own viewers, on the stream's relay in its bus
    {
        my $m = $http->get('http://127.0.0.1:' . $edge->http_port . '/metrics');
        my ($hls) = ($m->{content} // '')
            =~ /ams_stream_viewers\{[^}]*"e1"[^}]*protocol="hls"\} (\d+)/;
        ok(defined $hls && $hls >= $viewers,
           "the edge counts its $viewers HLS viewers") or diag("hls: " . ($hls // 'none'));
        my $o = $http->get('http://127.0.0.1:' . $origin->http_port . '/metrics');
        my ($ohls) = ($o->{content} // '')
            =~ /ams_stream_viewers\{[^}]*"e1"[^}]*protocol="hls"\} (\d+)/;
        is($ohls, 0, 'the origin counts none of them (node requests)');

        # egress: the edge sends the segments many times, the origin once
        my ($esent) = ($m->{content} // '')
            =~ /^ams_sent_bytes_total\{protocol="hls"\} (\d+)$/m;
        my ($osent) = ($o->{content} // '')
            =~ /^ams_sent_bytes_total\{protocol="hls"\} (\d+)$/m;
        ok(defined $esent && defined $osent && $osent > 0
           && $esent > 2 * $osent,
           'the edge sent over twice the HLS bytes the origin sent it')
            or diag('edge ' . ($esent // 'none') . ', origin '
                    . ($osent // 'none'));
    }

    my $req = $origin_requests->();
    my @segs = grep { !/\.(m3u8|mpd)$/ } keys %$req;
    my $seg_requests = 0;
    $seg_requests += $req->{$_} for @segs;
    my $playlists = $req->{'/LiveApp/streams/e1.m3u8'} // 0;
    my ($edge_segs) = 0;
    $edge_segs++ for grep { m{"GET /LiveApp/streams/e1[^ ?]*\.(ts|m4s|mp4)[ ?][^"]*" 200 } }
        split /\n/, Ams::Media::slurp($edge->prefix . '/logs/access.log') // '';
    diag(sprintf('origin: %d segment requests for %d segments, %d playlist '
                 . 'requests in %.1f s; edge: %d segment requests',
                 $seg_requests, scalar @segs, $playlists, $watched, $edge_segs));
    ok(@segs >= 2, 'viewers went through several segments');
    is($seg_requests, scalar @segs, 'the origin served each segment once');
    ok($edge_segs >= 3 * @segs, 'while the edge served them many times');
    # a playlist is kept 1 s (whole seconds: 1 to 2 s); while one request
    # refreshes it the other viewers get the previous copy
    ok($playlists <= $watched + 4,
       'the origin served at most about one playlist a second, not one per viewer');
    ok($playlists >= $watched / 3, 'and the edge kept refreshing it');

    # 3. node-to-node requests: the origin admits a valid node token, counts
    # no viewer and sets no cookie; it refuses an invalid one
    {
        my $r = $http->get("$origin_url/e1.m3u8",
                           { headers => { 'X-AMS-Cluster-Token' => 'bogus' } });
        is($r->{status}, 403, 'the origin refuses an invalid node token');

        $r = $http->get("$origin_url/e1.m3u8");
        is($r->{status}, 200, 'a viewer on the origin gets its own files');
        like($r->{headers}{'set-cookie'} // '', qr/^AMSVIEWER_/,
             'and a viewer cookie');

        my $t = jwt_hs256({ sub => 'cluster', iss => 'test',
                            aud => '127.0.0.11', exp => time + 30 }, $KEY);
        $r = $http->get("$origin_url/e1.m3u8",
                        { headers => { 'X-AMS-Cluster-Token' => $t } });
        is($r->{status}, 200, 'and admits a valid one');
        ok(!$r->{headers}{'set-cookie'}, 'with no viewer cookie');

        my $other = jwt_hs256({ sub => 'cluster', iss => 'test',
                                aud => '127.0.0.11', exp => time + 30 },
                              'x' x 40);
        $r = $http->get("$origin_url/e1.m3u8",
                        { headers => { 'X-AMS-Cluster-Token' => $other } });
        is($r->{status}, 403, 'nor one signed with another key');
        my $elsewhere = jwt_hs256({ sub => 'cluster', iss => 'test',
                                    aud => '127.0.0.21', exp => time + 30 },
                                  $KEY);
        $r = $http->get("$origin_url/e1.m3u8",
                        { headers => { 'X-AMS-Cluster-Token' => $elsewhere } });
        is($r->{status}, 403, 'nor one made for another node (aud)');
        like($origin->error_log, qr/ams media: node request refused: X-AMS-Cluster-Token: /,
             'and logs why');
    }

    # 4. a stream live nowhere: 404 from the edge
    {
        my $r = $http->get("$edge_url/nosuch.m3u8");
        is($r->{status}, 404, 'an unknown stream is a 404 on the edge');
        like($edge->error_log, qr/ams cluster: "LiveApp\/nosuch" is not live/,
             'logged');
        $r = $http->get("$edge_url/e1.m3u8");
        is($r->{status}, 200, 'the live one still plays');
    }

    # 5. the origin dies: the edge answers 404 within 4 periods
    {
        kill 'KILL', $origin->worker_pids, $origin->pid;
        $origin->{started} = 0;
        my $killed = time;

        my $gone = poll_until(sub {
            $http->get("$edge_url/e1.m3u8")->{status} == 404 ? time : undef;
        }, 20);
        ok($gone, 'the edge answers 404 once the origin is dead');
        my $after = $gone ? $gone - $killed : -1;
        diag(sprintf('404 %.1f s after kill -9 (period %d s)', $after, $PERIOD));
        ok($gone && $after <= 4 * $PERIOD + 2,
           'within 4 heartbeat periods (+ a snapshot refresh and the 1 s '
           . 'lookup cache)');
    }

    kill 'KILL', $pub;
    waitpid $pub, 0;

    is($edge->crashes, '', 'no crashes on the edge');

    $edge->stop;
    $mongo->stop if $mongo;
}
