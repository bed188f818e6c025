# Publish and play security, Ant Media Server style: one-time tokens from
# the REST API and JWT stream tokens, on RTMP publish/play and on HLS
# requests.  Missing, wrong, other-stream, other-type, expired and reused
# tokens are refused before any media flows; valid ones are admitted.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time sleep);
use Ams::Nginx;
use Ams::Media;
use Ams::Rest;

my $key = 'a-stream-secret-of-at-least-32-characters';

my $ng = Ams::Nginx->new(workers => 2, applications => <<"EOF2")->start;
application Secure {
    hls_time                       1s;
    publish_token_control_enabled  on;
    play_token_control_enabled     on;
}
application SecureCmaf {
    hls_time                    1s;
    hls_segment_type            fmp4;
    dash                        on;
    play_token_control_enabled  on;
}
application Signed {
    hls_time                     1s;
    publish_jwt_control_enabled  on;
    play_jwt_control_enabled     on;
    jwt_stream_secret_key        $key;
}
EOF2

my $rtmp = 'rtmp://127.0.0.1:' . $ng->rtmp_port;
my $http = 'http://127.0.0.1:' . $ng->http_port;
my $n = 0;

sub token {
    my ($id, $type, $expire, $app) = @_;
    $expire = int($expire // time + 3600);
    $app //= 'Secure';
    my ($st, $doc) = rest($ng, 'GET', "/$app/rest/v2/broadcasts/$id/token"
                          . "?expireDate=$expire&type=$type");
    die "token: $st" unless $st == 200;
    return $doc->{tokenId};
}

# ffmpeg publishing for a few seconds: its exit status and log
sub try_publish {
    my ($url, $seconds) = @_;
    my $log = $ng->prefix . '/pub' . $n++ . '.log';
    my $pid = publish($url, seconds => $seconds // 2, size => '320x240',
                      rate => 25, log => $log);
    my $rc = wait_publisher($pid, 30);
    return ($rc, slurp($log) // '');
}

sub try_play {
    my ($url) = @_;
    my $rc = system('ffmpeg', '-nostdin', '-v', 'quiet', '-rw_timeout',
                    '10000000', '-i', $url, '-t', '1', '-f', 'null', '-');
    return $rc >> 8;
}

sub http_status {
    my ($url, $jar) = @_;
    my @jar = $jar ? ('-b', $jar, '-c', $jar) : ();
    my $code = `curl -s -o /dev/null -w '%{http_code}' @jar '$url'`;
    return $code;
}

# one-time tokens: publish
my ($rc, $log);

($rc, $log) = try_publish("$rtmp/Secure/cam");
isnt($rc, 0, 'publish without a token is refused');
like($log, qr/You are not allowed to publish the stream/,
     'ffmpeg is told it is not allowed');

($rc) = try_publish("$rtmp/Secure/cam?token=nosuchtoken");
isnt($rc, 0, 'a wrong token is refused');

($rc) = try_publish("$rtmp/Secure/cam?token=" . token('cam', 'play'));
isnt($rc, 0, 'a play token cannot publish');

($rc) = try_publish("$rtmp/Secure/cam?token=" . token('other', 'publish'));
isnt($rc, 0, 'a token of another stream is refused');

my $soon = int(time) + 2;
my $expiring = token('cam', 'publish', $soon);
poll_until(sub { time > $soon + 1 }, 5);
($rc) = try_publish("$rtmp/Secure/cam?token=$expiring");
isnt($rc, 0, 'an expired token is refused');

like($ng->error_log, qr/publish of "cam" refused: expired token/,
     'the log says why');

my $good = token('cam', 'publish');
my $live = publish("$rtmp/Secure/cam?token=$good", seconds => 60,
                   size => '320x240', rate => 25,
                   log => $ng->prefix . '/live.log');
ok(poll_until(sub { -s $ng->media . '/Secure/streams/cam.m3u8' }, 20),
   'a valid token publishes');

($rc) = try_publish("$rtmp/Secure/cam2?token=$good");
isnt($rc, 0, 'the same token again is refused');
like($ng->error_log, qr/unknown or used token/, 'as used');

# one-time tokens: RTMP play
isnt(try_play("$rtmp/Secure/cam"), 0, 'play without a token is refused');
my $play = token('cam', 'play');
is(try_play("$rtmp/Secure/cam?token=$play"), 0, 'a play token plays');
isnt(try_play("$rtmp/Secure/cam?token=$play"), 0, 'but only once');

# one-time tokens: HLS
my $m3u8 = "$http/Secure/streams/cam.m3u8";
is(http_status($m3u8), 403, 'HLS without a token: 403');
is(http_status("$m3u8?token=bogus"), 403, 'HLS with a wrong token: 403');
my $jar = $ng->prefix . '/jar';
$play = token('cam', 'play');
is(http_status("$m3u8?token=$play", $jar), 200, 'HLS with a token: 200');
is(http_status($m3u8, $jar), 200,
   'the same viewer goes on without it (cookie)');
is(http_status("$m3u8?token=$play", $ng->prefix . '/jar2'), 403,
   'another viewer cannot reuse it');

kill 'INT', $live;
wait_publisher($live, 20);

# one-time tokens: fMP4 HLS and DASH share their CMAF files under {id}/; a
# viewer admitted on a playlist fetches them with its cookie alone
my $cmaf = publish("$rtmp/SecureCmaf/cm", seconds => 30, size => '320x240',
                   rate => 25);
my $cdir = $ng->media . '/SecureCmaf/streams/cm';
ok(poll_until(sub { -s "$cdir/video.m3u8" && -s "$cdir/video_init.mp4" }, 20),
   'fMP4 HLS of a token-protected application is written');
my $chttp = "$http/SecureCmaf/streams";
is(http_status("$chttp/cm/video_init.mp4"), 403,
   'its CMAF files without a token: 403');
my $cjar = $ng->prefix . '/cjar';
is(http_status("$chttp/cm.m3u8?token=" . token('cm', 'play', undef,
                                                'SecureCmaf'), $cjar),
   200, 'the master playlist with a token: 200');
is(http_status("$chttp/cm/video.m3u8", $cjar), 200,
   'then its media playlist with the cookie: 200');
is(http_status("$chttp/cm/video_init.mp4", $cjar), 200,
   'and the CMAF init segment HLS and DASH share: 200');
my $djar = $ng->prefix . '/djar';
is(http_status("$chttp/cm/cm.mpd?token=" . token('cm', 'play', undef,
                                                 'SecureCmaf'), $djar),
   200, 'a DASH viewer with a token: 200');
is(http_status("$chttp/cm/audio_init.mp4", $djar), 200,
   'the same files with its cookie: 200');
kill 'INT', $cmaf;
wait_publisher($cmaf, 20);

# JWT stream tokens
sub jwt {
    my ($id, $type, %o) = @_;
    return jwt_hs256({ streamId => $id, type => $type,
                       exp => int($o{exp} // time + 600) }, $o{key} // $key);
}

($rc) = try_publish("$rtmp/Signed/cam");
isnt($rc, 0, 'JWT: publish without a token is refused');
($rc) = try_publish("$rtmp/Signed/cam?token="
                    . jwt('cam', 'publish', key => 'x' x 40));
isnt($rc, 0, 'JWT: a wrong signature is refused');
($rc) = try_publish("$rtmp/Signed/cam?token="
                    . jwt('cam', 'publish', exp => time - 10));
isnt($rc, 0, 'JWT: an expired token is refused');
($rc) = try_publish("$rtmp/Signed/cam?token=" . jwt('other', 'publish'));
isnt($rc, 0, 'JWT: a token of another stream is refused');
($rc) = try_publish("$rtmp/Signed/cam?token=" . jwt('cam', 'play'));
isnt($rc, 0, 'JWT: a play token cannot publish');
like($ng->error_log, qr/JWT: token expired/, 'the log says why');
my $forever = jwt_hs256({ streamId => 'cam', type => 'publish' }, $key);
($rc) = try_publish("$rtmp/Signed/cam?token=$forever");
isnt($rc, 0, 'JWT: a token without exp (one that never expires) is refused');
like($ng->error_log, qr/JWT: no exp claim/, 'the log says so');

my $jwt = jwt('cam', 'publish');
$live = publish("$rtmp/Signed/cam?token=$jwt", seconds => 60,
                size => '320x240', rate => 25,
                log => $ng->prefix . '/live2.log');
ok(poll_until(sub { -s $ng->media . '/Signed/streams/cam.m3u8' }, 20),
   'JWT: a valid token publishes');

isnt(try_play("$rtmp/Signed/cam"), 0, 'JWT: play without a token refused');
isnt(try_play("$rtmp/Signed/cam?token=$jwt"),
     0, 'JWT: a publish token cannot play');
is(try_play("$rtmp/Signed/cam?token=" . jwt('cam', 'play')), 0,
   'JWT: a play token plays');
isnt(try_play("$rtmp/Signed/cam?token="
              . jwt_hs256({ streamId => 'cam', type => 'play' }, $key)),
     0, 'JWT: a play token without exp does not');

$m3u8 = "$http/Signed/streams/cam.m3u8";
is(http_status($m3u8), 403, 'JWT: HLS without a token: 403');
my ($st, $doc) = rest($ng, 'GET', '/Signed/rest/v2/broadcasts/cam/jwt-token'
                       . "?expireDate=" . int(time + 600) . '&type=play');
is($st, 200, 'the REST API signs a play JWT');
is(http_status("$m3u8?token=$doc->{tokenId}"), 200,
   'JWT: HLS with it: 200, as often as asked');
is(http_status("$m3u8?token=$doc->{tokenId}"), 200, 'JWT: again: 200');

kill 'INT', $live;
wait_publisher($live, 20);

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
