# hls_segment_type fmp4: an init segment, .m4s fragments, a version 7
# playlist with EXT-X-MAP; ffprobe reads it back at the published size,
# codecs and duration.

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

my $m3u8 = wait_closed("$dir/cmaf.m3u8");
like($m3u8, qr/#EXT-X-VERSION:7/, 'playlist version 7');
like($m3u8, qr/#EXT-X-MAP:URI="cmaf_init.mp4"/, 'with EXT-X-MAP');
like($m3u8, qr/cmaf000000000\.m4s/, 'segments are .m4s');
like($m3u8, qr/#EXT-X-ENDLIST/, 'and it ended');
ok(-s "$dir/cmaf_init.mp4", 'the init segment exists');

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
