# dash on: /{App}/streams/{id}/{id}.mpd with one fMP4 representation per
# track; dynamic while live, static once the publisher stops; ffprobe
# reads it at the published size, codecs and duration.  A DASH player's
# bytes count as DASH egress.  HLS is written beside it from the same
# frames.

use strict;
use warnings;

use Test::More;
use Ams::Nginx;
use Ams::Media;

my $ng = Ams::Nginx->new(applications => <<'EOF2')->start;
application LiveApp {
    dash                       on;
    delete_hls_files_on_ended  off;
}
EOF2

my $dir = $ng->media . '/LiveApp/streams';
my $http = 'http://127.0.0.1:' . $ng->http_port . '/LiveApp/streams';
my $seconds = 8;

my $pub = publish('rtmp://127.0.0.1:' . $ng->rtmp_port . '/LiveApp/dash1',
                  seconds => $seconds, size => '854x480');

ok(poll_until(sub { (slurp("$dir/dash1/dash1.mpd") // '') =~ /<S t=/ }, 15),
   'the MPD appears while publishing');
like(slurp("$dir/dash1/dash1.mpd"), qr/type="dynamic"/, 'and is dynamic');

# a DASH player while the stream is live: its bytes count as DASH egress,
# the segments too (CMAF files that fMP4 HLS could share: they count as
# their viewer's kind, known from its cookie)
my $metrics_url = 'http://127.0.0.1:' . $ng->http_port . '/metrics';
sub sent {
    `curl -s $metrics_url` =~ /^ams_sent_bytes_total\{protocol="$_[0]"\} (\d+)$/m
        ? $1 : -1;
}
my ($dash0, $hls0) = (sent('dash'), sent('hls'));
my @got = `curl -s -b '' -o /dev/null -o /dev/null -o /dev/null -w '%{http_code} %{size_header} %{size_download}\n' $http/dash1/dash1.mpd $http/dash1/video_init.mp4 $http/dash1/video_0.m4s`;
my $received = 0;
for (@got) {
    my ($code, $head, $body) = split;
    $received += $head + $body;
}
is(scalar(grep { /^200 / } @got), 3, 'a DASH player gets the MPD, an init, a segment')
    or diag @got;
is(sent('dash') - $dash0, $received,
   "ams_sent_bytes_total{protocol=\"dash\"} grew by the $received bytes it received");
is(sent('hls') - $hls0, 0, 'none of them counted as HLS');

is(wait_publisher($pub, 40), 0, 'published');

my $mpd = wait_closed("$dir/dash1/dash1.mpd");
like($mpd, qr/type="static"/, 'the MPD turns static at the end');
like($mpd, qr/codecs="avc1\.[0-9a-f]{6}" width="854" height="480"/,
     'video representation with codec and size');
like($mpd, qr/codecs="mp4a\.40\.2" audioSamplingRate="44100"/,
     'audio representation');
ok(-s "$dir/dash1/video_init.mp4" && -s "$dir/dash1/audio_init.mp4",
   'init segments per track');

my $probe = ffprobe("$http/dash1/dash1.mpd");
my ($v, $a) = av_streams($probe);
is($v && $v->{codec_name}, 'h264', 'DASH video is H.264');
is($v && "$v->{width}x$v->{height}", '854x480', 'at the published size');
is($a && $a->{codec_name}, 'aac', 'DASH audio is AAC');

my $dur = video_span("$http/dash1/dash1.mpd");
ok(abs($dur - $seconds) <= $seconds * 0.1,
   "DASH video spans $dur s, within 10% of $seconds s");
like($mpd, qr/mediaPresentationDuration="PT(\d+\.\d+)S"/,
     'the MPD states its duration');
my ($mpd_dur) = $mpd =~ /mediaPresentationDuration="PT([\d.]+)S"/;
ok($mpd_dur && abs($mpd_dur - $seconds) <= $seconds * 0.1,
   "which is $mpd_dur s");

my $frames = `ffmpeg -v error -i '$http/dash1/dash1.mpd' -map 0:v -f null - -progress - 2>&1 | grep '^frame=' | tail -1`;
my ($n) = $frames =~ /frame=(\d+)/;
ok($n && abs($n - $seconds * 30) <= $seconds * 3,
   'decoded ' . ($n // 0) . ' video frames of ' . $seconds * 30);

$probe = ffprobe("$http/dash1.m3u8");
$dur = $probe->{format}{duration} // 0;
ok(abs($dur - $seconds) <= $seconds * 0.1, "and the HLS beside it: $dur s");

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
