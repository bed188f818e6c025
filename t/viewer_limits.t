# A broadcast's viewer limits are enforced.  cam is created with
# webRTCViewerLimit 0: once ffmpeg publishes it over RTMP, a WHEP offer
# is refused (403), the limit read from the store.  REST then sets
# webRTCViewerLimit 1 and hlsViewerLimit 1 while it is live.  The first
# aiortc WHEP player is admitted and decodes, a second one gets 403
# viewerLimitReached, and so does an Ant Media WebSocket play.  The first HLS viewer (curl keeping
# its cookie) gets the playlist, a second new one 403, while the first
# still gets 200 on its next fetch: a viewer already watching is never
# cut.  Raising both limits by REST lets a new viewer of each in.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time sleep);
use Ams::Nginx;
use Ams::Media;
use Ams::Rest;
use Ams::WebRTC;
use Ams::WebSocket;

my $missing = aiortc_missing();
plan skip_all => $missing if $missing;

my $ng = webrtc_nginx(workers => 2, applications => <<'EOF', config => <<'EOF2');
application LiveApp {
    hls_time                   1s;
    delete_hls_files_on_ended  off;
    viewer_timeout             20s;
}
EOF
location ~ ^/[^/]+/websocket$ {
    ams_webrtc  on;
}
EOF2
$ng->start;
my $rtmp = 'rtmp://127.0.0.1:' . $ng->rtmp_port;
my $http = 'http://127.0.0.1:' . $ng->http_port;
my $api = '/LiveApp/rest/v2/broadcasts/cam';
my $dir = $ng->prefix;

my ($st, $doc) = rest($ng, 'POST', '/LiveApp/rest/v2/broadcasts/create',
                      body => { streamId => 'cam', webRTCViewerLimit => 0 });
is($st, 200, 'cam is created with webRTCViewerLimit 0');

my $pub = publish("$rtmp/LiveApp/cam", seconds => 40, size => '320x240',
                  rate => 25);
ok(poll_until(sub { -s $ng->media . '/LiveApp/streams/cam.m3u8' }, 20),
   'the RTMP stream is live');

# an offer that never connects: refused, or a session that counts nobody
my $code;
ok(poll_until(sub { ($code = http_request($ng, 'POST', '/LiveApp/whep/cam',
                        type => 'application/sdp',
                        body => sdp_offer(direction => 'recvonly'))
                     ->{status}) == 403 }, 5),
   'the limit of the record made before the publish holds: WHEP 403')
    or diag("status $code");

sub limits {
    my (%set) = @_;
    my $st;
    poll_until(sub { ($st) = rest($ng, 'PUT', $api, body => \%set);
                     $st == 200 }, 10);
    return $st;
}

is(limits(webRTCViewerLimit => 1, hlsViewerLimit => 1), 200,
   'REST PUT: webRTCViewerLimit 1, hlsViewerLimit 1');
($st, $doc) = rest($ng, 'GET', $api);
is(join(' ', map { $doc->{$_} // 'none' }
            qw(webRTCViewerLimit hlsViewerLimit dashViewerLimit)),
   '1 1 -1', 'the record keeps them');

# --- WebRTC -------------------------------------------------------------------

my $first = aiortc_start('whep', "$http/LiveApp/whep/cam", seconds => 0,
                         timeout => 30);
ok(client_poll($first, sub { $_[0]{started} }, 20),
   'the first WHEP player is admitted and decodes')
    or diag(explain client_status($first));

# counted from DTLS on: the count says it is a viewer before the next POST
ok(poll_until(sub { my (undef, $d) = rest($ng, 'GET', $api);
                    ($d->{webRTCViewerCount} // 0) == 1 }, 5),
   'webRTCViewerCount 1');

my $r = client_wait(aiortc_start('whep', "$http/LiveApp/whep/cam",
                                 seconds => 1, timeout => 10), 20);
is($r->{status}, 403, 'a second WHEP player: 403');
like("@{ $r->{errors} }", qr/viewerLimitReached/,
     'its body says viewerLimitReached');

my $ws = Ams::WebSocket->connect($ng->http_port, '/LiveApp/websocket')
    or BAIL_OUT("no WebSocket: $@");
$ws->send_json({ command => 'play', streamId => 'cam' });
my $err = $ws->expect('error', 10) // {};
is(($err->{definition} // '') . ' ' . ($err->{streamId} // ''),
   'viewerLimitReached cam',
   'an Ant Media WebSocket play: error viewerLimitReached');
$ws->close;

ok(client_poll($first, sub { 1 }, 1) && !client_done($first),
   'the first one plays on');

# --- HLS ----------------------------------------------------------------------

# one playlist fetch of the viewer whose cookie jar is $jar: the status
sub fetch {
    my ($jar) = @_;
    open my $out, '-|', 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}',
        '-b', "$dir/$jar", '-c', "$dir/$jar", '--max-time', '10',
        "$http/LiveApp/streams/cam.m3u8" or die "curl: $!";
    my $code = <$out> // '';
    close $out;
    return $code;
}

is(fetch('jar1'), '200', 'the first HLS viewer: 200');
is(fetch('jar2'), '403', 'a second new HLS viewer: 403');
is(fetch('jar1'), '200', 'the first one still gets 200 on its next fetch');
is(fetch('jar3'), '403', 'another new one: 403');
($st, $doc) = rest($ng, 'GET', $api);
is($doc->{hlsViewerCount}, 1, 'hlsViewerCount 1: the refused count nothing');

# --- raising the limits -------------------------------------------------------

is(limits(webRTCViewerLimit => 2, hlsViewerLimit => 2), 200,
   'REST PUT: both limits 2');
ok(poll_until(sub { ($code = fetch('jar2')) eq '200' }, 5),
   'the second HLS viewer gets in now') or diag("status $code");
is(fetch('jar4'), '403', 'and a third new one is refused');

$r = client_wait(aiortc_start('whep', "$http/LiveApp/whep/cam",
                              seconds => 1, timeout => 20), 30);
is($r->{status}, 201, 'a second WHEP player gets in now');
ok($r->{started}, 'and decodes') or diag(explain $r->{errors});

is(client_stop($first)->{stop}{status}, 200, 'the first player leaves');

kill 'TERM', $pub;
wait_publisher($pub, 10);

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
