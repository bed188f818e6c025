# hls_segment_type fmp4: the CMAF writer's per-track init segments and
# .m4s fragments under {id}/, a version 7 media playlist per track with
# EXT-X-MAP, and {id}.m3u8 as the master playlist (video, audio as a
# rendition); ffprobe reads it back at the published size, codecs and
# duration.

use strict;
use warnings;

use Test::More;
use Ams::Nginx;
use Ams::Media;

my $ng = Ams::Nginx->new(applications => <<'EOF2')->start;
application LiveApp {
    hls_segment_type           fmp4;
    delete_hls_files_on_ended  off;
}
EOF2

my $dir = $ng->media . '/LiveApp/streams';
my $http = 'http://127.0.0.1:' . $ng->http_port . '/LiveApp/streams';
my $seconds = 7;

my $pub = publish('rtmp://127.0.0.1:' . $ng->rtmp_port . '/LiveApp/cmaf',
                  seconds => $seconds, size => '960x540');
is(wait_publisher($pub, 40), 0, 'published');

my $m3u8 = wait_closed("$dir/cmaf/video.m3u8");
like($m3u8, qr/#EXT-X-VERSION:7/, 'video playlist version 7');
like($m3u8, qr/#EXT-X-MAP:URI="video_init.mp4"/, 'with EXT-X-MAP');
like($m3u8, qr/\nvideo_0\.m4s\n/, 'segments are .m4s');
like($m3u8, qr/#EXT-X-ENDLIST/, 'and it ended');
like(wait_closed("$dir/cmaf/audio.m3u8"), qr/\naudio_0\.m4s\n.*#EXT-X-ENDLIST/s,
     'so did the audio playlist');
ok(-s "$dir/cmaf/video_init.mp4" && -s "$dir/cmaf/audio_init.mp4",
   'an init segment per track');

my $master = slurp("$dir/cmaf.m3u8") // '';
like($master, qr{^#EXT-X-MEDIA:TYPE=AUDIO,.*URI="cmaf/audio\.m3u8"$}m,
     'the master names the audio rendition');
like($master, qr{^\#EXT-X-STREAM-INF:BANDWIDTH=\d+,
                 CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2",
                 RESOLUTION=960x540,AUDIO="audio"\n
                 cmaf/video\.m3u8$}mx,
     'and the video variant with its codecs and size');

my $probe = ffprobe("$http/cmaf.m3u8");
my ($v, $a) = av_streams($probe);
is($v && $v->{codec_name}, 'h264', 'video is H.264');
is($v && "$v->{width}x$v->{height}", '960x540', 'at the published size');
is($a && $a->{codec_name}, 'aac', 'audio is AAC');

my $dur = $probe->{format}{duration} // 0;
ok(abs($dur - $seconds) <= $seconds * 0.1,
   "duration $dur s is within 10% of $seconds s");

my $out = `ffmpeg -v error -i '$http/cmaf.m3u8' -f null - 2>&1`;
is($out, '', 'decodes without errors');

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
