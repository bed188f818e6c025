# Adaptive bitrate end to end: a 640x360 publish transcoded to 240p and
# 160p rungs gives {id}_adaptive.m3u8 (the original on top, each variant
# with BANDWIDTH, AVERAGE-BANDWIDTH, RESOLUTION, CODECS, FRAME-RATE, the
# fMP4 rungs sharing the original's audio) and an MPD with one video
# representation per rung.  In headless Chromium, hls.js plays the
# adaptive playlist and dash.js the MPD, each with currentTime advancing
# for 10 s, and each switches to the rung it is told to (the picture's
# height says so).  The gate serves the rungs' files to the parent's
# viewers and counts them for the parent.  MPEG-TS variants are the
# rungs' own playlists.

use strict;
use warnings;

use Test::More;
use Ams::Nginx;
use Ams::Media;
use Ams::Browser;

my $missing = browser_missing();
plan skip_all => $missing if $missing;

# the transcoder publishes the rungs (a publisher may not use their names)
my $so = "$ENV{AMS_MODULES}/ngx_ams_transcode_module.so";
plan skip_all => 'needs the transcoder (encoder_settings)'
    unless -e $so && `grep -c encoder_settings '$so'` > 0;

my $ladder = '[{"height":240,"videoBitrate":400000},'
           . '{"height":160,"videoBitrate":200000}]';

my $ng = Ams::Nginx->new(
    workers => 2,
    modules => [qw(core ingest packager api transcode)],
    config => Ams::Nginx::default_server() . www_location(),
    applications => <<"EOF");
application CmafApp {
    hls_segment_type  fmp4;
    dash              on;
    encoder_settings  '$ladder';
    encoder_preset    ultrafast;
}

application TsApp {
    encoder_settings  '$ladder';
    encoder_preset    ultrafast;
}
EOF

www_setup($ng->prefix);
$ng->start;

my $rtmp = 'rtmp://127.0.0.1:' . $ng->rtmp_port;
my $http = 'http://127.0.0.1:' . $ng->http_port;
my $media = $ng->media;
my $pub = publish("$rtmp/CmafApp/abr", seconds => 50, size => '640x360',
                  rate => 25);

my $master_path = "$media/CmafApp/streams/abr_adaptive.m3u8";
ok(poll_until(sub {
    my $m = slurp($master_path) // '';
    $m =~ /abr_240p400kbps/ && $m =~ /abr_160p200kbps/
}, 30), 'the adaptive playlist lists both rungs');

my $master = slurp($master_path);
my @inf = $master =~ /^#EXT-X-STREAM-INF:(.*)\n(.*)$/mg;
my %uri = reverse @inf;
is(scalar(keys %uri), 3, 'three variants: the original and two rungs');
is($inf[1], 'abr/video.m3u8', 'the original on top');
for my $u (sort keys %uri) {
    like($uri{$u}, qr/^BANDWIDTH=\d+,AVERAGE-BANDWIDTH=\d+,CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2",RESOLUTION=\d+x\d+,FRAME-RATE=25\.000,AUDIO="audio"$/,
         "$u: bit rates, codecs, size, frame rate, the shared audio");
}
like($uri{'abr_240p400kbps/video.m3u8'} // '', qr/RESOLUTION=426x240/,
     'the 240p rung at its size');
like($master, qr{^#EXT-X-MEDIA:TYPE=AUDIO,.*URI="abr/audio\.m3u8"$}m,
     "the original's audio rendition");
my ($avg) = ($uri{'abr_240p400kbps/video.m3u8'} // '') =~ /AVERAGE-BANDWIDTH=(\d+)/;
ok($avg && $avg > 400000 * 0.5 && $avg < 400000 * 1.6,
   "the 240p rung's average bit rate is about its rung's ($avg)");

my $mpd_path = "$media/CmafApp/streams/abr/abr.mpd";
ok(poll_until(sub {
    my @r = (slurp($mpd_path) // '') =~ /<Representation id="([^"]+)"/g;
    @r == 4
}, 20), 'the MPD lists the original, two rungs and the audio');
like(slurp($mpd_path), qr{media="\.\./abr_160p200kbps/video_\$Number\$\.m4s"},
     "a rung's segments by their path from the MPD");

# the gate: a rung's files are the parent's viewer's
my $code = `curl -s -o /dev/null -w '%{http_code}' $http/CmafApp/streams/abr_160p200kbps/video_init.mp4`;
is($code, '200', "a rung's init segment is served");

my $r = watch($http, 'hls', '/CmafApp/streams/abr_adaptive.m3u8',
              '--watch', 10, '--timeout', 40, '--switch');
ok($r->{started}, 'hls.js plays the adaptive playlist');
ok($r->{advanced} >= 9, sprintf 'hls.js: currentTime advanced %.2f s in '
   . '%.2f s', $r->{advanced} // 0, $r->{watched} // 0);
is_deeply([sort { $a <=> $b } @{ $r->{levels} }], [160, 240, 360],
          'hls.js sees three levels');
ok($r->{switch_to} && $r->{switch_to} != $r->{switch_from}
   && $r->{level_height} == $r->{switch_to},
   "and switches from $r->{switch_from}p to the $r->{switch_to}p rung when "
   . "told to (the picture is $r->{level_height} high)");
is_deeply($r->{errors}, [], 'hls.js reports no error');

my $stats = `curl -s $http/CmafApp/rest/v2/broadcasts/abr/broadcast-statistics`;
like($stats, qr/"totalHLSWatchersCount":\s*[1-9]/,
     'its viewer counts for the stream, not for a rung');

$r = watch($http, 'dash', '/CmafApp/streams/abr/abr.mpd',
           '--watch', 10, '--timeout', 40, '--switch');
ok($r->{started}, 'dash.js plays the MPD');
ok($r->{advanced} >= 9, sprintf 'dash.js: currentTime advanced %.2f s in '
   . '%.2f s', $r->{advanced} // 0, $r->{watched} // 0);
is($r->{stalls}, 0, 'without a stall');
is_deeply([sort { $a <=> $b } @{ $r->{levels} }], [160, 240, 360],
          'dash.js sees three video representations');
ok($r->{switch_to} && $r->{switch_to} != $r->{switch_from}
   && $r->{level_height} == $r->{switch_to},
   "and switches from $r->{switch_from}p to the $r->{switch_to}p rung when "
   . "told to (the picture is $r->{level_height} high)");
is_deeply($r->{errors}, [], 'dash.js reports no error');

kill 'TERM', $pub;
wait_publisher($pub, 10);

# MPEG-TS: the rungs' own playlists are the variants
$pub = publish("$rtmp/TsApp/ts", seconds => 12, size => '640x360', rate => 25);
ok(poll_until(sub {
    my $m = slurp("$media/TsApp/streams/ts_adaptive.m3u8") // '';
    $m =~ /^ts_240p400kbps\.m3u8$/m && $m =~ /^ts_160p200kbps\.m3u8$/m
}, 30), 'MPEG-TS: the variants are {rung}.m3u8');
like(slurp("$media/TsApp/streams/ts_adaptive.m3u8"),
     qr/^#EXT-X-STREAM-INF:BANDWIDTH=\d+,AVERAGE-BANDWIDTH=\d+,CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2",RESOLUTION=640x360,FRAME-RATE=25\.000\nts\.m3u8$/m,
     'with the original, its own audio in its codecs');
wait_publisher($pub, 30);

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
