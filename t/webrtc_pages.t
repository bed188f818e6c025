# The pages Ant Media Server's users expect, served by nginx from the
# module's own files (ngx_ams_webrtc/www, with the location its README
# proposes): play.html plays an RTMP-published stream in headless
# Chromium by HLS, low-latency HLS and DASH when asked, and in its default
# order by WebRTC once WHEP answers (by HLS until then); it reports a
# stream that is not live; index.html shows the fake camera and publishes
# it by WHIP (skipped while the WHIP endpoint is not there), and shows the
# server's refusal (409) of a stream id that is live.

use strict;
use warnings;

use Test::More;
use File::Temp ();
use Cwd qw(abs_path);
use FindBin;
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use Ams::Nginx;
use Ams::Media;
use Ams::Browser;
use Ams::Rest;

my $missing = browser_missing();
plan skip_all => $missing if $missing;

# a copy the workers' unprivileged user can read whatever the checkout's
# permissions (a fresh clone under a 0700 temporary directory is not)
my $www = File::Temp::tempdir('ams-www-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $www;
system('cp', '-r', abs_path("$FindBin::Bin/../ngx_ams_webrtc/www") . '/.',
       $www) == 0 or die "copying the pages: $?";
system('chmod', '-R', 'a+rX', $www);
my $pages_js = "$FindBin::Bin/browser/pages.js";

# the location ngx_ams_webrtc/www/README.md proposes, @WWW@ filled in
my ($pages) = (slurp("$www/README.md") // '')
    =~ /^```\n(# Ant Media Server's pages.*?)^```$/ms;
BAIL_OUT("no location block in $www/README.md") unless $pages;
$pages =~ s/\@WWW\@/$www/g;
$pages .= <<'EOF';
location = /ams/time {
    ams_time;
}
EOF

my $signalling = <<'EOF';
location ~ ^/[^/]+/(whip|whep)/ {
    ams_webrtc  on;
}
EOF

# a UDP port for the one worker's WebRTC socket
sub free_udp {
    for (1 .. 50) {
        my $port = 20000 + int rand 20000;
        my $s = IO::Socket::INET->new(Proto => 'udp',
                                      LocalAddr => '127.0.0.1',
                                      LocalPort => $port) or next;
        close $s;
        return $port;
    }
    die 'no free UDP port';
}

my $apps = <<'EOF';
application LiveApp {
    dash  on;
}
application LLApp {
    hls_segment_type            fmp4;
    ll_hls                      on;
    play_token_control_enabled  on;
}
EOF

# one worker: a WHIP/WHEP session's DELETE reaches the worker it lives in
sub server {
    my ($webrtc) = @_;
    my $udp = free_udp();
    return Ams::Nginx->new(
        workers => 1,
        modules => [qw(core ingest packager api transcode webrtc)],
        config => Ams::Nginx::default_server() . $pages
                  . ($webrtc ? $signalling : ''),
        applications => ($webrtc ? "webrtc_udp_port_base $udp;\n"
                                   . "webrtc_public_address 127.0.0.1;\n"
                                 : '') . $apps);
}

# the WebRTC module's directives arrive with its transport: without them
# the pages are served alone and WHIP/WHEP answer 404
my $ng = server(1);
my ($ok, $why) = $ng->try_start;
my $webrtc = $ok;
if (!$ok) {
    die "nginx failed to start: $why\n" unless $why =~ /unknown directive/;
    diag('no WebRTC directives yet: pages without WHIP/WHEP');
    $ng = server(0);
    $ng->start;
}

my $http = 'http://127.0.0.1:' . $ng->http_port;
my $rtmp = 'rtmp://127.0.0.1:' . $ng->rtmp_port;
my $ua = HTTP::Tiny->new(timeout => 10);

my @pubs = (publish("$rtmp/LiveApp/pages", seconds => 90, size => '640x360'),
            publish("$rtmp/LLApp/pages", seconds => 90, size => '640x360'));

# the files, their types, nothing else of the directory
for my $case (['/LiveApp/index.html', qr{^text/html}, qr/WebRTC publish/],
              ['/LiveApp/', qr{^text/html}, qr/WebRTC publish/],
              ['/LiveApp/play.html', qr{^text/html}, qr/amsPlayer/],
              ['/OtherApp/play.html', qr{^text/html}, qr/amsPlayer/],
              ['/LiveApp/js/ams_play.js', qr{^application/javascript},
               qr/amsPlayer/],
              ['/LiveApp/js/ams_webrtc.js', qr{^application/javascript},
               qr/negotiate/],
              ['/LiveApp/lib/hls.min.js', qr{^application/javascript},
               qr/Hls/],
              ['/LiveApp/lib/dash.mediaplayer.min.js',
               qr{^application/javascript}, qr/dashjs/],
              ['/LiveApp/lib/hls.js.LICENSE.txt', qr{^text/plain},
               qr/Apache License/])
{
    my ($path, $type, $body) = @$case;
    my $r = $ua->get("$http$path");
    is($r->{status}, 200, "$path is served");
    like($r->{headers}{'content-type'} // '', $type, "$path: its type");
    like($r->{content}, $body, "$path: its content");
}
for my $path ('/LiveApp/lib/README.md', '/LiveApp/js/', '/LiveApp/www.html',
              '/LiveApp/lib/.hidden.js', '/LiveApp/js/..%2f..%2fplay.html')
{
    my $r = $ua->get("$http$path");
    ok($r->{status} == 404 || $r->{status} == 400,
       "$path is not served ($r->{status})");
}

my $media = $ng->media;
ok(poll_until(sub {
    (slurp("$media/LiveApp/streams/pages.m3u8") // '') =~ /pages000000001/
    && (slurp("$media/LiveApp/streams/pages/pages.mpd") // '') =~ /<S t=/
    && (slurp("$media/LLApp/streams/pages/video.m3u8") // '') =~ /EXT-X-PART/
}, 25), 'HLS, DASH and LL-HLS of the RTMP stream are live');

sub page {
    my ($mode, $url, @opts) = @_;
    my $args = join ' ', map { "'$_'" } @opts;
    my $out = `node '$pages_js' $mode '$http$url' $args 2>&1`;
    return eval { decode_json((split /\n/, $out)[-1]) }
           || { errors => [$out] };
}

sub plays {
    my ($url, $tech, $name, $size) = @_;
    my $r = page('play', $url, '--seconds', 3, '--timeout', 30);
    is($r->{tech}, $tech, "$name: the page plays by $tech")
        or diag(explain($r));
    ok(($r->{advanced} // 0) >= 3,
       sprintf '%s: currentTime advances (%.1f s, playing %.1f s after '
       . 'the page loaded)', $name, $r->{advanced} // 0,
       ($r->{started} // 0) / 1000);
    my $shown = ($r->{width} // 0) . 'x' . ($r->{height} // 0);
    if ($size) {
        like($shown, $size, "$name: $shown");
    } else {
        is($shown, '640x360', "$name: 640x360");
    }
    is_deeply($r->{errors}, [], "$name: no page error");
    return $r;
}

my $r = plays('/LiveApp/play.html?name=pages&playOrder=hls', 'hls',
              'playOrder=hls');
like($r->{status}, qr/Playing with HLS/, 'the status line says HLS');
unlike($r->{status}, qr/low latency/, 'plain HLS: no low latency');

# LLApp wants play tokens: the page's ?token= admits it (the gate's
# cookie then admits hls.js's requests)
$r = page('play', '/LLApp/play.html?name=pages&playOrder=ll-hls',
          '--seconds', 1, '--timeout', 4);
is($r->{tech}, undef, 'no token: nothing plays');
like(join(' ', @{ $r->{playerErrors} || [] }), qr/HLS answered 403/,
     'the page shows the refusal');
my ($st, $doc) = rest($ng, 'GET', '/LLApp/rest/v2/broadcasts/pages/token'
                      . '?type=play&expireDate=' . (time + 600));
is($st, 200, 'a play token');
$r = plays('/LLApp/play.html?name=pages&playOrder=ll-hls&token='
           . ($doc->{tokenId} // ''), 'hls',
           'playOrder=ll-hls, fMP4 with parts, a token');
like($r->{status}, qr/Playing with HLS \(low latency\)/,
     'hls.js plays it in low-latency mode');

$r = plays('/LiveApp/play.html?id=pages&playOrder=dash&autoplay=true',
           'dash', 'playOrder=dash');
like($r->{status}, qr/Playing with DASH/, 'the status line says DASH');

# WebRTC first: WHEP answers (a garbage offer: 4xx other than 404/405)
# once the module has its signalling; until then HLS within ~6 s
my $probe = $ua->post("$http/LiveApp/whep/pages",
                      { headers => { 'Content-Type' => 'application/sdp' },
                        content => "v=0\r\n" });
my $whep = $webrtc && $probe->{status} !~ /^(404|405|501)$/;
diag("WHEP probe: $probe->{status}");
$r = plays('/LiveApp/play.html?name=pages', $whep ? 'webrtc' : 'hls',
           'default playOrder');
if (!$whep) {
    like(join(' ', @{ $r->{playerErrors} || [] }), qr/WHEP answered 40[45]/,
         'WebRTC was tried first and refused');
    ok(($r->{started} // 1e9) < 10000,
       "HLS plays $r->{started} ms after the page loaded");
}

# a stream that is not live: the page says so and keeps trying
$r = page('play', '/LiveApp/play.html?name=nosuch&playOrder=hls,dash',
          '--seconds', 1, '--timeout', 5);
is($r->{tech}, undef, 'a stream that is not live plays by nothing');
like(join(' ', @{ $r->{playerErrors} || [] }),
     qr/HLS answered 404.*DASH answered 404/s,
     'each technology\'s HTTP status is reported');
like($r->{status}, qr/not playing now|Trying/, 'the status line says so');

# the publish page: the fake camera, then WHIP
my $whip = $ua->post("$http/LiveApp/whip/pagespub",
                     { headers => { 'Content-Type' => 'application/sdp' },
                       content => "v=0\r\n" });
diag("WHIP probe: $whip->{status}");
my $whip_there = $webrtc && $whip->{status} !~ /^(404|405|501)$/;

if (!$whip_there) {
    $r = page('publish', '/LiveApp/index.html?id=pagespub', '--timeout', 10);
    ok($r->{preview}[0] > 0, "the camera preview shows "
       . "($r->{preview}[0]x$r->{preview}[1])") or diag(explain($r));
    is($r->{httpStatus}, $whip->{status},
       'Start shows WHIP\'s refusal: ' . ($r->{status} // ''));
    like($r->{status} // '', qr/WHIP answered $whip->{status}/,
         'with its status');
    is_deeply($r->{errors}, [], 'no page error');
}

SKIP: {
    skip "the WHIP endpoint answers $whip->{status}: WebRTC publishing is "
         . 'not in this build yet', 8 unless $whip_there;

    # a live stream id is refused, and the page shows why
    $r = page('publish', '/LiveApp/index.html?id=pages', '--hold', 0);
    is($r->{httpStatus}, 409, 'publishing a live stream id: 409')
        or diag(explain($r));
    like($r->{status} // '', qr/409/, "the page shows it: $r->{status}");

    my $file = $ng->prefix . '/publish.json';
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', $file or exit 1;
        open STDERR, '>&', \*STDOUT;
        exec 'node', $pages_js, 'publish',
            "$http/LiveApp/index.html?id=pagespub", '--hold', 10;
        exit 127;
    }
    my $first = poll_until(sub {
        my ($l) = split /\n/, slurp($file) // '';
        $l && eval { decode_json($l) };
    }, 40) || {};
    ok($first->{preview} && $first->{preview}[0] > 0,
       'the camera preview shows');
    is($first->{state}, 'publishing', 'the page publishes: '
       . ($first->{status} // '')) or diag(explain($first));

    my $live = poll_until(sub {
        my (undef, $doc) = rest($ng, 'GET',
                                '/LiveApp/rest/v2/broadcasts/pagespub');
        ($doc && ($doc->{status} // '') eq 'broadcasting')
        || -e "$media/LiveApp/streams/pagespub.m3u8";
    }, 20);
    ok($live, 'the stream is live (REST or HLS)');

    # the browser's encoder picks the size (it starts small on a new
    # connection and grows): any size
    $r = plays('/LiveApp/play.html?name=pagespub&playOrder=hls', 'hls',
               'the published stream by HLS', qr/^[1-9]\d*x[1-9]\d*$/)
        if $live;
    wait_publisher($pid, 40);
    my $last = eval { decode_json((split /\n/, slurp($file))[-1]) } || {};
    ok($last->{stopped}, 'Stop publishing: the page stops');
    ok(poll_until(sub {
        my (undef, $doc) = rest($ng, 'GET',
                                '/LiveApp/rest/v2/broadcasts/pagespub');
        !$doc || ($doc->{status} // '') ne 'broadcasting';
    }, 15), 'and the stream ends (its WHIP session was deleted)');
}

kill 'TERM', @pubs;
wait_publisher($_, 10) for @pubs;

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
