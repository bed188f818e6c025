# Real players: headless Chromium plays the HLS (MPEG-TS and fMP4) and
# DASH outputs of a live stream with hls.js and dash.js, and shows the
# published picture size.

use strict;
use warnings;

use Test::More;
use File::Copy qw(copy);
use File::Path qw(make_path);
use FindBin;
use JSON::PP;
use Ams::Nginx;
use Ams::Media;

my $browser = "$FindBin::Bin/browser";
my $lib = "$browser/node_modules";

plan skip_all => 'AMS_NO_BROWSER is set' if $ENV{AMS_NO_BROWSER};
plan skip_all => 'needs chromium and npm packages (./build.sh test installs them)'
    unless -x '/usr/bin/chromium' && -d "$lib/playwright-core";

my ($node) = `node --version 2>/dev/null` =~ /^v(\d+)/;
plan skip_all => 'playwright-core needs Node.js 20 or later'
    unless $node && $node >= 20;

my $www_location = <<'EOF1';
location /www/ {
    root  $PREFIX;
}
EOF1

my $ng = Ams::Nginx->new(workers => 2,
                         config => Ams::Nginx::default_server() . $www_location,
                         applications => <<'EOF2');
application LiveApp {
    dash  on;
}

application CmafApp {
    hls_segment_type  fmp4;
}
EOF2

# the page and the players, where the workers may read them
my $www = $ng->prefix . '/www';
make_path("$www/lib/hls.js/dist", "$www/lib/dashjs/dist/modern/umd");
copy("$browser/player.html", "$www/player.html") or die $!;
copy("$lib/hls.js/dist/hls.min.js", "$www/lib/hls.js/dist/") or die $!;
copy("$lib/dashjs/dist/modern/umd/dash.all.min.js",
     "$www/lib/dashjs/dist/modern/umd/") or die $!;
(my $page = slurp("$www/player.html")) =~ s{src="/lib/}{src="/www/lib/}g;
open my $fh, '>', "$www/player.html" or die $!;
print $fh $page;
close $fh;

$ng->start;

my $rtmp = 'rtmp://127.0.0.1:' . $ng->rtmp_port;
my $http = 'http://127.0.0.1:' . $ng->http_port;
my @pubs = (publish("$rtmp/LiveApp/web", seconds => 40, size => '640x360'),
            publish("$rtmp/CmafApp/web", seconds => 40, size => '640x360'));

my $media = $ng->media;
ok(poll_until(sub {
    (slurp("$media/LiveApp/streams/web.m3u8") // '') =~ /web000000002/
    && (slurp("$media/CmafApp/streams/web/video.m3u8") // '') =~ /video_2/
    && (slurp("$media/LiveApp/streams/web/web.mpd") // '') =~ /<S t=/
}, 20), 'HLS, fMP4 HLS and DASH are live');

for my $case (['hls', '/LiveApp/streams/web.m3u8', 'hls.js, MPEG-TS'],
              ['hls', '/CmafApp/streams/web.m3u8', 'hls.js, fMP4'],
              ['dash', '/LiveApp/streams/web/web.mpd', 'dash.js'])
{
    my ($kind, $src, $name) = @$case;
    my $url = "$http/www/player.html?kind=$kind&src=$http$src";
    my $out = `node '$browser/play.js' '$url' 3 40 2>&1`;
    my $r = eval { decode_json((split /\n/, $out)[-1]) } || { errors => [$out] };

    ok($r->{played} >= 3, "$name plays ($r->{played} s)")
        or diag(join "\n", @{ $r->{errors} || [] });
    is("$r->{width}x$r->{height}", '640x360', "$name shows 640x360");
    is_deeply($r->{errors}, [], "$name reports no error");
}

kill 'TERM', @pubs;
wait_publisher($_, 10) for @pubs;

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
