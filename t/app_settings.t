# Application settings at runtime, AMS's REST: GET and POST
# /rest/v2/applications/settings/{app}.  nginx.conf gives the values; a
# POST changes them on every worker without a reload, for what starts
# after it: play admission, the HLS window and segment length, DASH, the
# listener webhook.  Bad bodies are refused with AMS's Result.  Two nodes
# sharing one store: a change POSTed on one applies on the other within
# one period.

use strict;
use warnings;

use Test2::IPC;                  # subtests from forked processes
use Test::More;
use Test2::API qw(run_subtest);
use File::Temp qw(tempdir);
use Time::HiRes qw(time sleep);
use Ams::Nginx;
use Ams::Media;
use Ams::Rest;
use Ams::Hook;

# before nginx starts: the receiver's child process holds no nginx of ours
my $hook_dir = tempdir('ams-hook-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $hook = Ams::Hook->new(file => "$hook_dir/hook.txt");

my $ng = Ams::Nginx->new(workers => 2, applications => <<'EOF')->start;
application LiveApp {
    hls_time                   1s;
    hls_list_size              4;
    delete_hls_files_on_ended  off;
}
application Other {
}
EOF

my $rtmp = 'rtmp://127.0.0.1:' . $ng->rtmp_port;
my $http = 'http://127.0.0.1:' . $ng->http_port;
my $path = '/rest/v2/applications/settings';

# a publisher with a keyframe every second, so segments follow hlsTime
sub live {
    my ($url, $seconds) = @_;
    return publish($url, seconds => $seconds, size => '320x240', rate => 10,
                   vcodec => 'libx264',
                   extra => ['-preset', 'ultrafast', '-tune', 'zerolatency',
                             '-g', 10, '-keyint_min', 10,
                             '-sc_threshold', 0]);
}

sub try_play {
    my ($url) = @_;
    # (a 1 s probe: the default 5 s is most of a play of this 10 fps
    # stream, the decoding of 1 s of it is the check)
    my $rc = system('ffmpeg', '-nostdin', '-v', 'quiet', '-rw_timeout',
                    '10000000', '-analyzeduration', '1000000', '-i', $url,
                    '-t', '1', '-f', 'null', '-');
    return $rc >> 8;
}

sub http_status {
    my ($url) = @_;
    return `curl -s -o /dev/null -w '%{http_code}' '$url'`;
}

sub token {
    my ($node, $id) = @_;
    my $exp = int(time) + 3600;
    my ($st, $doc) = rest($node, 'GET', "/LiveApp/rest/v2/broadcasts/$id/"
                          . "token?expireDate=$exp&type=play");
    return $st == 200 ? $doc->{tokenId} : '';
}

# the change as one GET sees it: seconds it took, or undef
sub seen {
    my ($node, $field, $want) = @_;
    my $t0 = time;
    my $json = JSON::PP->new->canonical->allow_nonref;
    return poll_until(sub {
        my ($st, $doc) = rest($node, 'GET', "$path/LiveApp");
        return $st == 200 && defined $doc->{$field}
            && $json->encode($doc->{$field}) eq $want
            ? (time - $t0 || 0.001) : 0;
    }, 10);
}

# every worker has it: each looks at the zone's version every second, so
# after a second more, GETs in a row (landing on any worker) agree
sub settled {
    my ($node, $field, $want) = @_;
    seen($node, $field, $want) or return 0;
    sleep 1.2;
    my $json = JSON::PP->new->canonical->allow_nonref;
    for (1 .. 6) {
        my ($st, $doc) = rest($node, 'GET', "$path/LiveApp");
        return 0 unless $st == 200 && defined $doc->{$field}
            && $json->encode($doc->{$field}) eq $want;
    }
    return 1;
}

# GET: nginx.conf's values, AMS's names and JSON types

my ($st, $doc, $raw) = rest($ng, 'GET', "$path/LiveApp");
is($st, 200, 'GET settings of LiveApp');
is($doc->{hlsTime}, '1', 'hlsTime from nginx.conf, a string as AMS sends');
ok(!ref $doc->{hlsTime} && $raw =~ /"hlsTime":"1"/, 'as a JSON string');
is($doc->{hlsListSize}, '4', 'hlsListSize from nginx.conf');
ok(JSON::PP::is_bool($doc->{playTokenControlEnabled})
   && !$doc->{playTokenControlEnabled}, 'playTokenControlEnabled false');
ok(JSON::PP::is_bool($doc->{dashMuxingEnabled})
   && !$doc->{dashMuxingEnabled}, 'dashMuxingEnabled false');
is($doc->{listenerHookURL}, '', 'no listenerHookURL');
ok(exists $doc->{$_}, "$_ is shown")
    for qw(publishTokenControlEnabled publishJwtControlEnabled
           playJwtControlEnabled jwtStreamSecretKey jwtControlEnabled
           jwtSecretKey acceptOnlyStreamsInDataStore hlsMuxingEnabled);

($st, $doc) = rest($ng, 'GET', "$path/Other");
is($doc->{hlsTime}, '2', "another application has its own (AMS's default)");

($st, $doc) = rest($ng, 'GET', "$path/NoSuchApp");
is($st, 404, 'an unknown application: 404');
is($doc->{success}, JSON::PP::false, "with AMS's Result");

# bad bodies: 400, nothing changes

for my $bad (['{"playTokenControlEnabled":"yes"}', 'playTokenControlEnabled'],
             ['{"hlsTime":true}', 'hlsTime'],
             ['{"hlsListSize":"0"}', 'hlsListSize'],
             ['{"hlsTime":"fast"}', 'hlsTime'],
             ['{"playJwtControlEnabled":true}', 'jwtStreamSecretKey'],
             ['{"listenerHookURL":"http://hooks.example.com/x"}',
              'IP address'],
             ['[1,2]', 'JSON object'],
             ['{"hlsTime":', 'malformed'])
{
    ($st, $doc) = rest($ng, 'POST', "$path/LiveApp", body => $bad->[0]);
    is($st, 400, "POST $bad->[0]: 400");
    ok(!$doc->{success} && ($doc->{message} // '') =~ /\Q$bad->[1]\E/,
       "  a Result that names $bad->[1]")
        or diag(explain $doc);
}

($st, $doc) = rest($ng, 'POST', "$path/NoSuchApp",
                   body => { hlsTime => '3' });
is($st, 404, 'POST to an unknown application: 404');

($st, $doc) = rest($ng, 'GET', "$path/LiveApp");
is_deeply([@$doc{qw(hlsTime hlsListSize)}], ['1', '4'],
          'refused bodies changed nothing');

($st, $doc) = rest($ng, 'POST', "$path/LiveApp",
                   body => { noSuchSetting => 1, mp4MuxingEnabled => 'x' });
is($st, 200, 'unknown fields are ignored, as AMS does');
is($doc->{success}, JSON::PP::true, '  success');

# play admission: a stream live before the change

my $cam = live("$rtmp/LiveApp/cam", 120);
ok(poll_until(sub { -s $ng->media . '/LiveApp/streams/cam.m3u8' }, 20),
   'cam is live');
is(try_play("$rtmp/LiveApp/cam"), 0, 'RTMP play without a token plays');
is(http_status("$http/LiveApp/streams/cam.m3u8"), '200',
   'HLS without a token: 200');

($st, $doc) = rest($ng, 'POST', "$path/LiveApp",
                   body => { playTokenControlEnabled => JSON::PP::true });
is($st, 200, 'POST playTokenControlEnabled true');
is_deeply($doc, { success => JSON::PP::true, message => '' },
          "  AMS's Result {success:true}");
ok(settled($ng, 'playTokenControlEnabled', 'true'),
   'every worker shows it');

for my $try (1 .. 2) {
    isnt(try_play("$rtmp/LiveApp/cam"), 0,
         "RTMP play without a token is refused now ($try)");
}
is(http_status("$http/LiveApp/streams/cam.m3u8"), '403',
   'HLS without a token: 403');
my $tok = token($ng, 'cam');
ok($tok, 'a play token from REST');
is(try_play("$rtmp/LiveApp/cam?token=$tok"), 0, 'with it, RTMP plays');
($st, $doc) = rest($ng, 'GET', "$path/Other");
ok(!$doc->{playTokenControlEnabled}, 'another application is untouched');

($st) = rest($ng, 'POST', "$path/LiveApp",
             body => { playTokenControlEnabled => JSON::PP::false });
ok($st == 200 && settled($ng, 'playTokenControlEnabled', 'false'),
   'turned off again');
is(http_status("$http/LiveApp/streams/cam.m3u8"), '200',
   'HLS without a token: 200 again');

# the packager: streams that start after the change

($st, $doc) = rest($ng, 'POST', "$path/LiveApp",
                   body => { hlsTime => '3', hlsListSize => 2,
                             dashMuxingEnabled => JSON::PP::true,
                             listenerHookURL => $hook->url });
is($st, 200, 'POST hlsTime "3", hlsListSize 2 (a number is taken too), '
   . 'dashMuxingEnabled, listenerHookURL') or diag(explain $doc);
ok(settled($ng, 'hlsListSize', '"2"'), 'shown as "2" by every worker');
($st, $doc) = rest($ng, 'GET', "$path/LiveApp");
is($doc->{hlsTime}, '3', 'hlsTime "3"');
is($doc->{listenerHookURL}, $hook->url, 'listenerHookURL');

my $cam2 = live("$rtmp/LiveApp/cam2", 16);
my $m2 = $ng->media . '/LiveApp/streams/cam2.m3u8';
ok(poll_until(sub { (() = (slurp($m2) // '') =~ /#EXTINF/g) >= 2 }, 30),
   'cam2, started after, has two segments');
ok(poll_until(sub { grep { /liveStreamStarted.*id=cam2/ } $hook->received },
              10), 'the new listenerHookURL is told of cam2');
my $max2 = 0;
my @durs;
poll_until(sub {
    my ($segs) = playlist_segments(slurp($m2));
    $max2 = @$segs if @$segs > $max2;
    @durs = map { $_->[0] } @$segs;
    0;
}, 6);
is($max2, 2, "cam2's playlist holds at most 2 segments (hlsListSize)");
ok(@durs && !grep({ $_ < 2.5 || $_ > 3.5 } @durs),
   "cam2's segments last about 3 s (hlsTime)") or diag("@durs");
like(slurp($m2) // '', qr/#EXT-X-TARGETDURATION:3\b/, 'target duration 3');
sub mpds {
    my ($id) = @_;
    my $dir = $ng->media . '/LiveApp/streams';
    return grep { -e } glob("$dir/$id/*.mpd"), "$dir/$id.mpd";
}

ok(scalar mpds('cam2'), 'cam2 has DASH (dashMuxingEnabled)');

my $m1 = slurp($ng->media . '/LiveApp/streams/cam.m3u8') // '';
my ($segs1) = playlist_segments($m1);
is(scalar @$segs1, 4, 'cam, started before, keeps its 4-segment window');
ok(!grep({ $_->[0] > 1.5 } @$segs1), 'and its 1 s segments');
ok(!mpds('cam'), 'and no DASH');

# the application's REST API asks for a JWT from now on

my $rkey = 'a-rest-secret-of-at-least-32-characters!';
($st, $doc) = rest($ng, 'POST', "$path/LiveApp",
                   body => { jwtControlEnabled => JSON::PP::true,
                             jwtSecretKey => $rkey });
ok($st == 200 && settled($ng, 'jwtControlEnabled', 'true'),
   'POST jwtControlEnabled with a jwtSecretKey');
($st) = rest($ng, 'GET', '/LiveApp/rest/v2/broadcasts/count');
is($st, 403, "the application's REST API refuses a call without a JWT");
my $jwt = jwt_hs256({ exp => int(time) + 60 }, $rkey);
($st) = rest($ng, 'GET', '/LiveApp/rest/v2/broadcasts/count',
             headers => ["Authorization: $jwt"]);
is($st, 200, 'and takes one signed with the new key');
($st, $doc) = rest($ng, 'POST', "$path/LiveApp",
                   body => { jwtSecretKey => 'short' });
is($st, 400, 'a key too short for the JWT control in force: 400');
($st) = rest($ng, 'POST', "$path/LiveApp",
             body => { jwtControlEnabled => JSON::PP::false });
ok($st == 200 && settled($ng, 'jwtControlEnabled', 'false'),
   'JWT control off again');
($st) = rest($ng, 'GET', '/LiveApp/rest/v2/broadcasts/count');
is($st, 200, 'calls without a JWT pass again');

wait_publisher($cam2, 30);
kill 'INT', $cam;
wait_publisher($cam, 20);

# a reload: nginx.conf's values again, with the changes on top

$ng->reload;
sleep 1.5;
($st, $doc) = rest($ng, 'GET', "$path/LiveApp");
is_deeply([@$doc{qw(hlsTime hlsListSize)}], ['3', '2'],
          'after a reload the changes still apply');

is($ng->crashes, '', 'no worker crashed');
$ng->stop;

# two nodes, one store: a change on A applies on B within one period.
# SQLite shared by both; the MongoDB wire server too when it can run here;
# the two side by side (each its own process, nodes, ports and store)

my @stores = ('sqlite');
push @stores, 'mongodb'
    if eval { require Ams::Mongo; 1 }
       && -d 't/mongo/node_modules/@push.rocks/smartmongo'
       && system('node --version >/dev/null 2>&1') == 0;

my @kids;
for my $store (@stores) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        run_subtest("two nodes on $store", sub { two_nodes($store) },
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


sub node {
    my ($db, $addr, $extra) = @_;
    return Ams::Nginx->new(workers => 2,
                           modules => [qw(core ingest packager api cluster)],
                           main_config => <<"EOF")->start;
ams {
    storage        \$MEDIA;
    thread_pool    ams;
    bus_zone_size  64m;
    cpu_limit      100;
    memory_limit   100;
    database       $db;
    node_address   $addr;
$extra

    application LiveApp {
        hls_time  1s;
    }
}
EOF
}

sub two_nodes {
    my ($store) = @_;
    my ($db, $mongo);

    if ($store eq 'mongodb') {
        $mongo = Ams::Mongo->new;
        $db = $mongo->uri;
    } else {
        my $dir = tempdir('ams-shared-XXXXXX', TMPDIR => 1, CLEANUP => 1);
        chmod 0777, $dir;
        $db = "sqlite:$dir/shared.db";
    }

    # A reads the store every second; B is a cluster node: every
    # node_update_period
    my $na = node($db, '127.0.0.31', '    settings_period  1s;');
    my $nb = node($db, '127.0.0.32', <<'EOF');
    node_role           origin;
    node_update_period  1s;
EOF

    my $bcam = live('rtmp://127.0.0.1:' . $nb->rtmp_port . '/LiveApp/bcam',
                    60);
    my $bm3u8 = 'http://127.0.0.1:' . $nb->http_port
                . '/LiveApp/streams/bcam.m3u8';
    ok(poll_until(sub { http_status($bm3u8) eq '200' }, 20),
       'B serves its stream without a token');

    my ($st, $doc) = rest($na, 'POST', "$path/LiveApp",
                          body => { playTokenControlEnabled => JSON::PP::true,
                                    hlsListSize => '7' });
    is($st, 200, 'POST on A');
    my $took = seen($nb, 'playTokenControlEnabled', 'true');
    ok($took, 'GET on B shows the change');
    diag(sprintf '%s: B shows the change %.2f s after the POST on A',
         $store, $took // 0);
    cmp_ok($took // 99, '<', 5,
           'within a few seconds (a 1 s period, a worker check, a busy host)');
    ok(settled($nb, 'playTokenControlEnabled', 'true'),
       "on every one of B's workers");
    ($st, $doc) = rest($nb, 'GET', "$path/LiveApp");
    is($doc->{hlsListSize}, '7', 'hlsListSize too');
    is(http_status($bm3u8), '403', "B's HLS now asks for a token");
    isnt(try_play('rtmp://127.0.0.1:' . $nb->rtmp_port . '/LiveApp/bcam'), 0,
         "and B's RTMP play too");

    ($st) = rest($nb, 'POST', "$path/LiveApp",
                 body => { playTokenControlEnabled => JSON::PP::false });
    ok($st == 200 && settled($na, 'playTokenControlEnabled', 'false'),
       'and back, from B to A');
    ($st, $doc) = rest($na, 'GET', "$path/LiveApp");
    is($doc->{hlsListSize}, '7', 'A keeps the earlier change');

    kill 'INT', $bcam;
    wait_publisher($bcam, 20);

    is($na->crashes . $nb->crashes, '', 'no worker crashed on either node');
    $na->stop;
    $nb->stop;
}
