# RTMPS: nginx's stream ssl terminates TLS in front of ams_rtmp.  ffmpeg
# publishes over rtmps:// and plays back over rtmps://; HLS comes out.

use strict;
use warnings;

use Test::More;
use Ams::Nginx;
use Ams::Media;

my $ng = Ams::Nginx->new(stream_config => <<'EOF2');
server {
    listen  127.0.0.1:$RTMP_PORT;
    ams_rtmp;
}

server {
    listen               127.0.0.1:$RTMPS_PORT ssl;
    ssl_certificate      $PREFIX/cert.pem;
    ssl_certificate_key  $PREFIX/key.pem;
    ams_rtmp;
}
EOF2

my $p = $ng->prefix;
system("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
       . "-keyout $p/key.pem -out $p/cert.pem >/dev/null 2>&1") == 0
    or BAIL_OUT('openssl could not make a certificate');
$ng->start;

my $url = 'rtmps://127.0.0.1:' . $ng->rtmps_port . '/LiveApp/secure';
my $dir = $ng->media . '/LiveApp/streams';

my $pub = publish($url, seconds => 6, size => '640x360');
ok(poll_until(sub { -s "$dir/secure.m3u8" }, 15),
   'publishing over RTMPS makes HLS');

my $probe = ffprobe($url, '-rw_timeout', '5000000');
my ($v) = av_streams($probe);
is($v && "$v->{width}x$v->{height}", '640x360', 'playing over RTMPS decodes');

is(wait_publisher($pub, 30), 0, 'the RTMPS publisher ran to its end');

$probe = ffprobe("$dir/secure.m3u8");
my $dur = $probe->{format}{duration} // 0;
ok(abs($dur - 6) <= 0.6, "HLS duration $dur s is within 10% of 6 s");

like($ng->error_log, qr/ams rtmp: publish "LiveApp\/secure"/, 'publish logged');

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
