# Low-latency DASH (ll_hls on, fMP4, dash on): the live MPD says a
# segment is available a part after it began (availabilityTimeOffset =
# segment target - part target, availabilityTimeComplete="false"), lists
# the segment being written from its first part on, is read again every
# part (minimumUpdatePeriod) and names the latency to aim at
# (ServiceDescription); the HLS gate serves the segment as it grows.
# dash.js in low-latency mode plays it in headless Chromium, its
# currentTime advancing >= 9 s in 10 s without a stall, closer to live
# than the same stream's plain DASH.  Plain DASH MPDs keep none of this.

use strict;
use warnings;

use Test::More;
use Ams::Nginx;
use Ams::Media;
use Ams::Browser;

my $missing = browser_missing();
plan skip_all => $missing if $missing;

my $ng = Ams::Nginx->new(workers => 2,
                         config => Ams::Nginx::default_server()
                                   . www_location(),
                         applications => <<'EOF2');
application LiveApp {
    hls_segment_type           fmp4;
    hls_time                   2s;
    ll_hls                     on;
    ll_hls_part_time           500ms;
    dash                       on;
}
application PlainApp {
    hls                        off;
    hls_time                   2s;
    dash                       on;
}
EOF2

www_setup($ng->prefix);
$ng->start;

my $rtmp = 'rtmp://127.0.0.1:' . $ng->rtmp_port;
my $http = 'http://127.0.0.1:' . $ng->http_port;
my $ll_pub = publish("$rtmp/LiveApp/ll", seconds => 60, size => '640x360');
my $pl_pub = publish("$rtmp/PlainApp/pl", seconds => 60, size => '640x360');

my $ll_path = $ng->media . '/LiveApp/streams/ll/ll.mpd';
my $pl_path = $ng->media . '/PlainApp/streams/pl/pl.mpd';
ok(poll_until(sub { (slurp($ll_path) // '') =~ /<S t=.*\n.*<S t=/
                    && (slurp($pl_path) // '') =~ /<S t=.*\n.*<S t=/ }, 20),
   'both MPDs are live with two segments');

my $mpd = slurp($ll_path);
like($mpd, qr/<SegmentTemplate [^>]*availabilityTimeOffset="1\.500" availabilityTimeComplete="false"/,
     'availabilityTimeOffset: segment target less part target');
like($mpd, qr/minimumUpdatePeriod="PT0\.500S"/, 'read again every part');
like($mpd, qr{<ServiceDescription id="0">\s*<Latency target="2000" min="1000" max="4000"/>\s*<PlaybackRate min="0\.96" max="1\.04"/>\s*</ServiceDescription>\s*<Period },
     'a ServiceDescription with the latency to aim at, before the Period');

# the segment being written is listed from its first part: the MPD's
# newest segment is one whose file is still growing, or just closed
my $open = 0;
for (1 .. 20) {
    my $m = slurp($ll_path) // '';
    my ($start) = $m =~ /<Representation id="video".*?startNumber="(\d+)"/s;
    my ($tl) = $m =~ /<Representation id="video".*?<SegmentTimeline>(.*?)<\/SegmentTimeline>/s;
    my $n = () = ($tl // '') =~ /<S /g;
    my $last = ($start // 0) + $n - 1;
    my $pl = slurp($ng->media . '/LiveApp/streams/ll/video.m3u8') // '';
    $open++ if $pl !~ /\nvideo_$last\.m4s\n/;
    select undef, undef, undef, 0.25;
}
ok($open > 0, "the MPD lists the open segment ($open of 20 looks)");

my $plain = slurp($pl_path);
unlike($plain, qr/availabilityTime|ServiceDescription/,
       'plain DASH: no availabilityTimeOffset, no ServiceDescription');
like($plain, qr/minimumUpdatePeriod="PT2\.000S"/, 'and updates per segment');

my $ll = watch($http, 'dash', '/LiveApp/streams/ll/ll.mpd',
               '--watch', 10, '--timeout', 30);
my $pd = watch($http, 'dash', '/PlainApp/streams/pl/pl.mpd',
               '--watch', 10, '--timeout', 30);

sub median {
    my @v = sort { $a <=> $b } @_;
    return @v ? $v[@v / 2] : -1;
}
my $ll_lat = median(@{ $ll->{latency} || [] });
my $pd_lat = median(@{ $pd->{latency} || [] });
diag(sprintf 'dash.js live latency, median: low-latency %.2f s, plain %.2f s',
     $ll_lat, $pd_lat);

ok($ll->{started}, 'dash.js starts playing the low-latency MPD');
ok($ll->{advanced} >= 9,
   sprintf 'currentTime advanced %.2f s in %.2f s of wall time',
           $ll->{advanced} // 0, $ll->{watched} // 0);
is($ll->{stalls}, 0, 'no stall while watched') or diag(explain $ll);
is_deeply($ll->{errors}, [], 'dash.js reports no error');
ok($ll_lat > 0 && $ll_lat < 4,
   sprintf 'its live latency (%.2f s) is under 4 s', $ll_lat);
ok($pd->{started} && $ll_lat < $pd_lat,
   sprintf 'and under plain DASH\'s (%.2f s)', $pd_lat);

kill 'TERM', $ll_pub, $pl_pub;
wait_publisher($ll_pub, 10);
wait_publisher($pl_pub, 10);

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
