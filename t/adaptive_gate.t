# The HLS/DASH gate and adaptive names: a one-time play token of a stream
# admits its adaptive playlist, and the cookie it gives admits the files
# of the stream's transcoder rungs ({id}_{h}p{k}kbps: playlists, init
# segments, fragments, MPEG-TS playlists) and the MPD that lists them;
# nothing of them is served without it, and a token of another stream
# admits none of them.  The files are laid out as the packager writes
# them (no transcoder needed: the gate reads names only).

use strict;
use warnings;

use Test::More;
use File::Path qw(make_path);
use Ams::Nginx;
use Ams::Rest;

my $ng = Ams::Nginx->new(applications => <<'EOF2')->start;
application Secure {
    hls_segment_type            fmp4;
    dash                        on;
    play_token_control_enabled  on;
}
EOF2

my $http = 'http://127.0.0.1:' . $ng->http_port . '/Secure/streams';
my $dir = $ng->media . '/Secure/streams';

my @files = ('cam_adaptive.m3u8', 'cam/cam.mpd', 'cam/audio.m3u8',
             'cam_240p400kbps/video.m3u8', 'cam_240p400kbps/video_init.mp4',
             'cam_240p400kbps/video_3.m4s', 'cam_240p400kbps.m3u8',
             'cam_240p400kbps000000003.ts');
for my $f (@files) {
    (my $d = "$dir/$f") =~ s{/[^/]+$}{};
    make_path($d);
    open my $fh, '>', "$dir/$f" or die "$f: $!";
    print $fh "x\n";
    close $fh;
}

sub token {
    my ($id) = @_;
    my ($st, $doc) = rest($ng, 'GET', "/Secure/rest/v2/broadcasts/$id/token"
                          . '?expireDate=' . (time + 3600) . '&type=play');
    die "token: $st" unless $st == 200;
    return $doc->{tokenId};
}

sub status {
    my ($path, $jar) = @_;
    my @jar = $jar ? ('-b', $jar, '-c', $jar) : ();
    return scalar `curl -s -o /dev/null -w '%{http_code}' @jar '$http/$path'`;
}

for my $f (@files) {
    is(status($f), '403', "$f: refused without a token");
}

my $other = $ng->prefix . '/other.jar';
is(status('cam_adaptive.m3u8?token=' . token('cam2'), $other), '403',
   "another stream's token does not admit the adaptive playlist");
is(status('cam_240p400kbps/video.m3u8?token=' . token('cam2'), $other),
   '403', 'nor a rung');

my $jar = $ng->prefix . '/viewer.jar';
is(status('cam_adaptive.m3u8?token=' . token('cam'), $jar), '200',
   "the stream's token admits its adaptive playlist");
for my $f (@files[1 .. $#files]) {
    is(status($f, $jar), '200', "and its cookie admits $f");
}

is(status('cam_240p400kbps_adaptive.m3u8', $jar), '404',
   'a rung has no adaptive playlist of its own');

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
