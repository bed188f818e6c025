# A disk hiccup loses the segments it hits, never the stream: with the
# streams' directories unwritable for 3 s (the workers run unprivileged),
# the packager logs it once, drops what it could not write, goes on at the
# next keyframe once writing works again (EXT-X-DISCONTINUITY, the media
# sequence without a gap) and ends every playlist with EXT-X-ENDLIST.

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
EOF2

my $port = $ng->rtmp_port;
my $dir = $ng->media . '/LiveApp/streams';
my $http = 'http://127.0.0.1:' . $ng->http_port . '/LiveApp/streams';
my @ids = map { "disk$_" } 1 .. 5;

my %pub = map { $_ => publish("rtmp://127.0.0.1:$port/LiveApp/$_",
                              seconds => 14, size => '320x240', rate => 25) }
          @ids;

ok(poll_until(sub { !grep { !-e "$dir/${_}000000002.ts"
                            || !-e "$dir/$_/$_.mpd" } @ids }, 20),
   '5 live streams');

# TS segments and playlists are in streams/, fMP4 files and MPDs in
# streams/{id}/: both unwritable
my @dirs = ($dir, grep { -d } map { "$dir/$_" } @ids);
chmod 0555, @dirs;
sleep 3;
chmod 0777, $dir;
chmod 0755, @dirs[1 .. $#dirs];
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
for my $id (@ids) {
    my @began = $log =~ /"$id": [^\n]*segments are dropped/g;
    is(scalar @began, 1, "$id: the episode is logged once");
    like($log, qr/"$id": writes succeed again, [1-9]\d* segments dropped/,
         "$id: and its end");
}

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
