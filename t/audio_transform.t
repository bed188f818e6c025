# transcode_opus on: an RTMP publisher with AAC audio gets a companion
# stream {id}_opus (a rendition of {id}) with the same video and its audio
# in Opus 48 kHz.  Its DASH (fMP4: an 'Opus' sample entry with dOps)
# ffprobes as Opus with as much audio as the source; MPEG-TS HLS and RTMP
# players of the companion get its video and no audio, with a log line.
# The Opus -> AAC direction is covered by t/unit/test_audio_convert.c
# (nothing publishes Opus into the bus yet: WebRTC will).  A REST DELETE
# of a companion stops it and leaves its source publishing.

use strict;
use warnings;

use Test::More;
use Ams::Nginx;
use Ams::Media;
use Ams::Rest;

my $ng = Ams::Nginx->new(
    modules => [qw(core ingest packager api transcode)],
    applications => <<'EOF2')->start;
application LiveApp {
    dash                       on;
    transcode_opus             on;
    delete_hls_files_on_ended  off;
}
EOF2

my $dir = $ng->media . '/LiveApp/streams';
my $http = 'http://127.0.0.1:' . $ng->http_port . '/LiveApp/streams';
my $rtmp = 'rtmp://127.0.0.1:' . $ng->rtmp_port . '/LiveApp';
my $seconds = 10;

# Seconds of audio in a URL, from its packets' timestamps.
sub audio_span {
    my ($url) = @_;
    my @pts;
    my $dur = 0;
    for (`ffprobe -v error -select_streams a:0 -show_entries packet=pts_time,duration_time -of csv=p=0 '$url' 2>/dev/null`) {
        my ($pts, $d) = split /,/;
        next unless defined $pts && $pts =~ /^[\d.]+$/;
        push @pts, $pts;
        $dur = $d if defined $d && $d =~ /^[\d.]+$/;
    }
    return 0 unless @pts;
    my ($min, $max) = (sort { $a <=> $b } @pts)[0, -1];
    return $max + $dur - $min;
}

my $pub = publish("$rtmp/a1", seconds => $seconds, size => '640x360');
my $pub2 = publish("$rtmp/a2", seconds => $seconds, size => '320x240');

ok(poll_until(sub { (slurp("$dir/a1_opus/a1_opus.mpd") // '') =~ /<S t=/ },
              15), 'the companion a1_opus is packaged while a1 publishes');

# an RTMP player of the companion, while it is live: video, no audio
my $play = `ffprobe -v error -show_streams -of json -analyzeduration 3000000 '$rtmp/a1_opus' 2>/dev/null`;
like($play, qr/"codec_name": "h264"/, 'an RTMP player gets its video');
unlike($play, qr/"codec_type": "audio"/, 'and no audio (FLV has no Opus)');

# stopping a companion: its source goes on
ok(poll_until(sub { (slurp("$dir/a2_opus/a2_opus.mpd") // '') =~ /<S t=/ },
              15), 'a2_opus is packaged too');
my ($status) = rest($ng, 'DELETE', '/LiveApp/rest/v2/broadcasts/a2_opus');
like(wait_closed("$dir/a2_opus/a2_opus.mpd", 10), qr/type="static"/,
     'a REST DELETE of the companion ends it');
like(slurp("$dir/a2/a2.mpd") // '', qr/type="dynamic"/,
     'while its source goes on');

is(wait_publisher($pub, 40), 0, 'published');
is(wait_publisher($pub2, 40), 0, 'the second source published to its end');

my $mpd = wait_closed("$dir/a1_opus/a1_opus.mpd", 10);
like($mpd, qr/type="static"/, 'the companion ends with its source');
like($mpd, qr/audioSamplingRate="48000"/, 'its MPD says 48 kHz audio');

my $init = slurp("$dir/a1_opus/audio_init.mp4") // '';
ok(index($init, 'Opus') >= 0 && index($init, 'dOps') >= 0,
   "the audio init segment has an 'Opus' sample entry and dOps");

my ($v, $a) = av_streams(ffprobe("$http/a1_opus/a1_opus.mpd"));
is($a && $a->{codec_name}, 'opus', 'ffprobe reads Opus from its DASH');
is($a && $a->{sample_rate}, 48000, 'at 48 kHz');
is($v && $v->{codec_name}, 'h264', 'beside the H.264 video');
is($v && "$v->{width}x$v->{height}", '640x360', 'passed through as it was');

my $src = audio_span("$http/a1/a1.mpd");
my $opus = audio_span("$http/a1_opus/a1_opus.mpd");
ok($src > $seconds * 0.8, "the source has $src s of AAC");
ok(abs($opus - $src) <= $src * 0.01,
   "the companion has $opus s of Opus, within 1% of the source's");

my $vsrc = video_span("$http/a1/a1.mpd");
my $vopus = video_span("$http/a1_opus/a1_opus.mpd");
ok(abs($vopus - $vsrc) < 0.2, "and as much video ($vopus s, $vsrc s)");

# the decoded audio: as long as the source's
my $pcm = `ffmpeg -v error -i '$http/a1_opus/a1_opus.mpd' -map 0:a -f null - -progress - 2>&1 | grep '^out_time_us=' | tail -1`;
my ($us) = $pcm =~ /out_time_us=(\d+)/;
ok($us && abs($us / 1e6 - $src) <= $src * 0.01,
   'decoded ' . ($us // 0) / 1e6 . ' s of Opus audio');

# MPEG-TS HLS of the companion: the video alone
($v, $a) = av_streams(ffprobe("$http/a1_opus.m3u8"));
is($v && $v->{codec_name}, 'h264', 'its MPEG-TS HLS has the video');
ok(!$a, 'and no audio (MPEG-TS HLS carries AAC only)');

my $log = $ng->error_log;
my @left_out = $log =~ /"a1_opus": [^\n]*Opus audio left out of MPEG-TS HLS/g;
is(scalar @left_out, 1, 'said once in the log for the stream');
unlike($log, qr/"a1_opus": [^\n]*malformed video frames/,
       'in its own words, not as malformed video');
like($mpd, qr/<Representation id="audio" codecs="opus"/,
     'the MPD names the codec "opus" (RFC 6381)');
unlike($mpd, qr/mp4a\.40\.0/, 'and never mp4a.40.0');
like($log, qr/a1_opus" carries Opus audio, which RTMP cannot/,
     'the RTMP player is told in the log');
like($log, qr/"a1_opus": encoding with libopus, 48000 Hz, 1 channel/,
     'the encoder and format are logged (the source is mono)');
like($log, qr/"a1_opus" ended with its source/, 'and its end');
like($log, qr/"a2_opus" stopped after \d+ audio frames/,
     'a2_opus was stopped');

# the source itself is untouched
($v, $a) = av_streams(ffprobe("$http/a1/a1.mpd"));
is($a && $a->{codec_name}, 'aac', 'the source keeps its AAC');

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
