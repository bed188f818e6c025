# Ant Media Server's WebSocket signalling at /{App}/websocket, spoken by a
# raw client: the upgrade (101 with the right Sec-WebSocket-Accept, a
# refusal without one), ping/pong, getIceServerConfig, getStreamInfo of
# a live RTMP stream and of none, publish answered with "start", play and
# publish refused with AMS's error definitions (no stream, no token, a
# bad id), and protocol errors closing that connection only, with the
# RFC's close codes (1002 unmasked, 1007 not JSON, 1009 too big).  The
# media that follows an offer is t/webrtc_adaptor.t's (Chromium with
# Ant Media's own SDK).

use strict;
use warnings;

use Test::More;
use HTTP::Tiny;
use JSON::PP;
use Ams::Nginx;
use Ams::Media;
use Ams::WebSocket;

my $udp = 20000 + int rand 20000;

my $ng = Ams::Nginx->new(
    modules => [qw(core ingest packager api transcode webrtc)],
    main_config => <<"EOF1",
ams {
    storage        \$MEDIA;
    thread_pool    ams;
    bus_zone_size  128m;
    cpu_limit      100;
    memory_limit   100;
    webrtc_udp_port_base   $udp;
    webrtc_public_address  127.0.0.1;

    application LiveApp {
        delete_hls_files_on_ended  off;
    }
    application SecureApp {
        play_token_control_enabled  on;
    }
}
EOF1
    config => Ams::Nginx::default_server() . <<'EOF2')->start;
location ~ ^/[^/]+/(whip|whep)/ {
    ams_webrtc  on;
}
location ~ ^/[^/]+/websocket$ {
    ams_webrtc  on;
}
EOF2

my $port = $ng->http_port;
my $http = HTTP::Tiny->new(timeout => 5);

# the upgrade
{
    my $r = $http->get("http://127.0.0.1:$port/LiveApp/websocket");
    is($r->{status}, 400, 'a plain GET of the WebSocket URL is a 400');

    my $ws = Ams::WebSocket->connect($port, '/LiveApp/websocket',
                                     version => 8);
    ok(!$ws && $@ =~ /^HTTP\/1\.1 400/ && $@ =~ /^Sec-WebSocket-Version: 13/mi,
       'another protocol version is refused, naming 13') or diag($@);

    $ws = Ams::WebSocket->connect($port, '/NoSuchApp/websocket');
    ok(!$ws && $@ =~ /^HTTP\/1\.1 404/, 'an unknown application is a 404')
        or diag($@);
}

my $ws = Ams::WebSocket->connect($port, '/LiveApp/websocket')
    or BAIL_OUT("no WebSocket: $@");
pass('the upgrade answers 101 with the right Sec-WebSocket-Accept');

$ws->send_json({ command => 'ping' });
ok($ws->expect('pong'), 'ping is answered with pong');

$ws->send_json({ command => 'getIceServerConfig' });
my $ice = $ws->expect('iceServerConfig');
ok($ice && exists $ice->{stunServerUri}, 'getIceServerConfig answers');

# stream information
$ws->send_json({ command => 'getStreamInfo', streamId => 'nothere' });
my $err = $ws->expect('error');
is($err && $err->{definition}, 'no_stream_exist',
   'getStreamInfo of a stream not live: no_stream_exist');

my $pub = publish('rtmp://127.0.0.1:' . $ng->rtmp_port . '/LiveApp/live1',
                  seconds => 30, size => '320x240');
my $info;
ok(poll_until(sub {
    $ws->send_json({ command => 'getStreamInfo', streamId => 'live1' });
    $info = $ws->expect('streamInformation', 1);
    return $info && $info->{streamInfo}[0]{streamHeight};
}, 15), 'getStreamInfo of a live stream');
is($info && "$info->{streamInfo}[0]{streamWidth}x$info->{streamInfo}[0]{streamHeight}",
   '320x240', 'with its size');

# publish: admitted, the client is told to start (to send its offer)
$ws->send_json({ command => 'publish', streamId => 'wspub' });
my $start = $ws->expect('start');
is($start && $start->{streamId}, 'wspub', 'publish is answered with start');

$ws->send_json({ command => 'publish', streamId => 'wspub' });
$err = $ws->expect('error');
is($err && $err->{definition}, 'already_publishing',
   'publishing the same id twice on one connection: already_publishing');

$ws->send_json({ command => 'stop', streamId => 'wspub' });
my $note = $ws->expect('notification');
is($note && $note->{definition}, 'publish_finished',
   'stop before any media: publish_finished');

# refusals
$ws->send_json({ command => 'publish' });
$err = $ws->expect('error');
is($err && $err->{definition}, 'noStreamNameSpecified',
   'publish without a stream id: noStreamNameSpecified');

$ws->send_json({ command => 'publish', streamId => 'a/b' });
$err = $ws->expect('error');
is($err && $err->{definition}, 'invalidStreamName',
   'publish of an id with a slash: invalidStreamName');

$ws->send_json({ command => 'play', streamId => 'nothere' });
$err = $ws->expect('error');
is($err && $err->{definition}, 'no_stream_exist',
   'play of a stream not live: no_stream_exist');

{
    my $sws = Ams::WebSocket->connect($port, '/SecureApp/websocket')
        or BAIL_OUT("no WebSocket: $@");
    $sws->send_json({ command => 'play', streamId => 'live1' });
    $err = $sws->expect('error');
    is($err && $err->{definition}, 'unauthorized_access',
       'play without a token where tokens are required: unauthorized_access');
    $sws->close;
}

# protocol errors close that connection, with the RFC's codes
my @pids = $ng->worker_pids;

# the code of the close frame the server sends, skipping others
sub close_code {
    my ($c) = @_;
    for (1 .. 10) {
        my ($op, $payload) = $c->read_frame(5);
        return undef unless defined $op;
        return unpack('n', $payload) if $op == 8 && length $payload >= 2;
    }
    return undef;
}

{
    my $c = Ams::WebSocket->connect($port, '/LiveApp/websocket');
    $c->send_raw(Ams::WebSocket::frame(1, '{"command":"ping"}',
                                       unmasked => 1));
    is(close_code($c), 1002, 'an unmasked client frame: close 1002');
    ok($c->closed_within(5), 'and the connection goes');
}
{
    my $c = Ams::WebSocket->connect($port, '/LiveApp/websocket');
    $c->send_text('{"command": "ping"');
    is(close_code($c), 1007, 'a message that is not JSON: close 1007');
}
{
    my $c = Ams::WebSocket->connect($port, '/LiveApp/websocket');
    $c->send_raw(Ams::WebSocket::frame(1, 'x' x 70000));
    is(close_code($c), 1009, 'a 70 KB message: close 1009');
}
{
    my $c = Ams::WebSocket->connect($port, '/LiveApp/websocket');
    $c->send_raw(Ams::WebSocket::frame(8, pack('n', 1000)));
    is(close_code($c), 1000, 'a close frame is answered with one');
    ok($c->closed_within(5), 'and the connection goes');
}

$ws->send_json({ command => 'ping' });
ok($ws->expect('pong'), 'the first connection still answers');
is(join(',', $ng->worker_pids), join(',', @pids), 'the worker did not restart');
is($ng->crashes, '', 'no crash in the error log');

is(wait_publisher($pub, 60), 0, 'the RTMP publisher was undisturbed');

$ws->close;
$ng->stop;
done_testing();
