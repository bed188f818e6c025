# A disk hiccup loses the segments it hits, never the stream: with the
# streams' directories unwritable for 3 s (the workers run unprivileged),
# the packager logs it once, drops what it could not write, goes on at the
# next keyframe once writing works again (EXT-X-DISCONTINUITY, the media
# sequence without a gap) and ends every playlist with EXT-X-ENDLIST: MPEG-TS
# HLS with DASH, and fMP4 HLS.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time sleep);
use Ams::Nginx;
use Ams::Media;

my $ng = Ams::Nginx->new(applications => <<'EOF2')->start;
application LiveApp {
    hls_time       1s;
    hls_list_size  30;
    dash           on;
}
application FmpApp {
    hls_time          1s;
    hls_list_size     30;
    hls_segment_type  fmp4;
}
EOF2

my $port = $ng->rtmp_port;
my $dir = $ng->media . '/LiveApp/streams';
my $http = 'http://127.0.0.1:' . $ng->http_port . '/LiveApp/streams';
my $fdir = $ng->media . '/FmpApp/streams';
my @ids = map { "disk$_" } 1 .. 5;

my %pub = map { $_ => publish("rtmp://127.0.0.1:$port/LiveApp/$_",
                              seconds => 14, size => '320x240', rate => 25) }
          @ids;
my $fpub = publish("rtmp://127.0.0.1:$port/FmpApp/fmp", seconds => 14,
                   size => '320x240', rate => 25);

ok(poll_until(sub { !grep { !-e "$dir/${_}000000002.ts"
                            || !-e "$dir/$_/$_.mpd" } @ids }, 20),
   '5 live streams');
ok(poll_until(sub { -e "$fdir/fmp/video_2.m4s" }, 20), 'and one in fMP4');

# TS segments and playlists are in streams/, fMP4 files and MPDs in
# streams/{id}/: both unwritable
my @dirs = ($dir, $fdir, grep { -d } map { "$dir/$_" } @ids);
push @dirs, "$fdir/fmp";
chmod 0555, @dirs;
sleep 3;
chmod 0777, $dir, $fdir;
chmod 0755, @dirs[2 .. $#dirs];
my $back = time;

sub newest_ts {
    my ($id) = @_;
    my ($m) = sort { $b <=> $a } map { (stat $_)[9] // 0 }
              glob("$dir/${id}[0-9]*.ts");
    return $m // 0;
}

ok(poll_until(sub { !grep { newest_ts($_) < $back } @ids }, 10),
   'after the directory is writable again new segments appear');

for my $id (@ids) {
    is(wait_publisher($pub{$id}, 30), 0, "$id: the publisher ends");
}
is(wait_publisher($fpub, 30), 0, 'fmp: the publisher ends');

for my $kind (qw(video audio)) {
    my $text = wait_closed("$fdir/fmp/$kind.m3u8", 10);
    like($text, qr/#EXT-X-ENDLIST\n\z/, "fmp: the $kind playlist ends");
    like($text, qr/#EXT-X-DISCONTINUITY\n/, 'marks the lost segments');
    my ($segs) = playlist_segments($text);
    my ($first) = $text =~ /#EXT-X-MEDIA-SEQUENCE:(\d+)/;
    my @seq = map { $_->[1] =~ /_(\d+)\.m4s$/ ? $1 + 0 : -1 } @$segs;
    is_deeply(\@seq, [ $first .. $first + $#seq ],
              'its media sequence has no gap');
}
my ($fv) = av_streams(ffprobe('http://127.0.0.1:' . $ng->http_port
                              . '/FmpApp/streams/fmp.m3u8'));
is($fv && $fv->{codec_name}, 'h264', 'ffprobe plays the fMP4 playlist');

for my $id (@ids) {
    my $text = wait_closed("$dir/$id.m3u8", 10);
    like($text, qr/#EXT-X-ENDLIST\n\z/, "$id: the playlist ends");
    like($text, qr/#EXT-X-DISCONTINUITY\n/, "$id: marks the lost segments");

    my ($segs) = playlist_segments($text);
    my ($first) = $text =~ /#EXT-X-MEDIA-SEQUENCE:(\d+)/;
    my @seq = map { $_->[1] =~ /(\d{9})\.ts$/ ? $1 + 0 : -1 } @$segs;
    is_deeply(\@seq, [ $first .. $first + $#seq ],
              "$id: its media sequence has no gap");

    like(wait_closed("$dir/$id/$id.mpd", 10), qr/type="static"/,
         "$id: the MPD turns static");
}

my $probe = ffprobe("$http/$ids[0].m3u8");
my ($v, $a) = av_streams($probe);
is($v && $v->{codec_name}, 'h264', 'ffprobe plays the playlist: H.264');
is($a && $a->{codec_name}, 'aac', 'and AAC');
my $span = video_span("$http/$ids[0].m3u8");
ok($span > 6, "it has the video around the gap ($span s)");

my $log = $ng->error_log;
unlike($log, qr/stopped:/, 'no stream stopped');
for my $id (@ids, 'fmp') {
    my @began = $log =~ /"$id": [^\n]*segments are dropped/g;
    is(scalar @began, 1, "$id: the episode is logged once");
    like($log, qr/"$id": writes succeed again, [1-9]\d* segments dropped/,
         "$id: and its end");
}

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
