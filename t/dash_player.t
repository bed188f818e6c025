# DASH that the reference player plays: dash.js in headless Chromium
# plays a live MPD for 10 s of wall time with currentTime advancing at
# least 9 s, without stalling and without "Failed to synchronize client
# and server time": the MPD names nginx's time endpoint (UTCTiming
# http-iso, ams_time) with the MPD's own time as a fallback, and its
# timing follows the DASH-IF live profile.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time);
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
    dash  on;
}
EOF2

www_setup($ng->prefix);
$ng->start;

my $rtmp = 'rtmp://127.0.0.1:' . $ng->rtmp_port;
my $http = 'http://127.0.0.1:' . $ng->http_port;
my $pub = publish("$rtmp/LiveApp/clock", seconds => 40, size => '640x360');

my $mpd_path = $ng->media . '/LiveApp/streams/clock/clock.mpd';
ok(poll_until(sub { (slurp($mpd_path) // '') =~ /<S t=.*\n.*<S t=/ }, 20),
   'the MPD is live with two segments');

my $mpd = slurp($mpd_path);
like($mpd, qr{<UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="/ams/time"/>},
     'UTCTiming names the time endpoint');
like($mpd, qr{<UTCTiming schemeIdUri="urn:mpeg:dash:utc:direct:2014" value="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"/>},
     'and the MPD\'s own time as a fallback');
like($mpd, qr/availabilityStartTime="[^"]+\.\d{3}Z"/,
     'availabilityStartTime to the millisecond');
like($mpd, qr/profiles="urn:mpeg:dash:profile:isoff-live:2011"/,
     'the live profile');

# the live profile's timing: the newest segment ends (availabilityStartTime
# + its end less presentationTimeOffset) no later than the MPD was
# written and not long before; each timeline has no gap
sub xs_time {
    my ($y, $mo, $d, $h, $mi, $s) =
        $_[0] =~ /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):([\d.]+)Z$/ or return;
    require Time::Local;
    return Time::Local::timegm(0, $mi, $h, $d, $mo - 1, $y) + $s;
}
my ($ast) = $mpd =~ /availabilityStartTime="([^"]+)"/;
my ($pub_time) = $mpd =~ /publishTime="([^"]+)"/;
my $gaps = 0;
my $newest;
for my $tpl ($mpd =~ m{(<SegmentTemplate .*?</SegmentTemplate>)}sg) {
    my ($ts) = $tpl =~ /timescale="(\d+)"/;
    my ($pto) = $tpl =~ /presentationTimeOffset="(\d+)"/;
    my @s = $tpl =~ /<S t="(\d+)" d="(\d+)"/g;
    for (my $i = 2; $i < @s; $i += 2) {
        $gaps++ if $s[$i] != $s[$i - 2] + $s[$i - 1];
    }
    my $end = xs_time($ast) + ($s[-2] + $s[-1] - $pto) / $ts;
    $newest = $end if !defined $newest || $end > $newest;
}
is($gaps, 0, 'the timelines are continuous');
my $lead = xs_time($pub_time) - $newest;
ok($lead >= -0.3 && $lead < 2.5,
   sprintf 'availabilityStartTime fits the segment times: the newest '
   . 'segment ended %.3f s before publishTime', $lead);

my $t0 = time;
my $iso = `curl -s $http/ams/time`;
my $t1 = time;
my ($y, $mo, $d, $h, $mi, $s) =
    $iso =~ /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d\.\d{3})Z$/;
ok(defined $s, "the time endpoint answers ISO 8601 ($iso)");
if (defined $s) {
    require Time::Local;
    my $t = Time::Local::timegm(0, $mi, $h, $d, $mo - 1, $y) + $s;
    ok($t >= $t0 - 0.01 && $t <= $t1 + 0.01,
       sprintf 'and the time is now (%.3f s off)', $t - ($t0 + $t1) / 2);
}

my $r = watch($http, 'dash', '/LiveApp/streams/clock/clock.mpd',
              '--watch', 10, '--timeout', 30);

ok($r->{started}, 'dash.js starts playing');
ok($r->{advanced} >= 9,
   sprintf 'currentTime advanced %.2f s in %.2f s of wall time',
           $r->{advanced} // 0, $r->{watched} // 0);
is($r->{stalls}, 0, 'no stall while watched') or diag(explain $r);
is(scalar(grep { /synchroni[sz]e/i } @{ $r->{console} }), 0,
   'no time-sync warning') or diag(join "\n", @{ $r->{console} });
is(scalar(grep { /ERR_NAME_NOT_RESOLVED/ } @{ $r->{console} }), 0,
   'and no try at a public time server')
    or diag(join "\n", @{ $r->{console} });
is_deeply($r->{errors}, [], 'dash.js reports no error');
is("$r->{width}x$r->{height}", '640x360', 'at the published size');

kill 'TERM', $pub;
wait_publisher($pub, 10);

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
