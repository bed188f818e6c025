# Viewer counts rise and fall with real clients: ffmpeg RTMP players
# counted on connect and disconnect; HLS and DASH viewers counted from
# their requests (curl with a cookie jar, ffmpeg's HLS demuxer), gone
# once they stop fetching for viewer_timeout.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time sleep);
use Ams::Nginx;
use Ams::Media;
use Ams::Rest;

my $ng = Ams::Nginx->new(workers => 2, applications => <<'EOF2')->start;
application LiveApp {
    hls_time        1s;
    dash            on;
    viewer_timeout  3s;
}
EOF2

my $rtmp = 'rtmp://127.0.0.1:' . $ng->rtmp_port . '/LiveApp/cam';
my $http = 'http://127.0.0.1:' . $ng->http_port . '/LiveApp/streams';
my $api = '/LiveApp/rest/v2/broadcasts/cam/broadcast-statistics';

sub counts {
    my ($st, $doc) = rest($ng, 'GET', $api);
    return '' unless $st == 200;
    return join ' ', map { $doc->{"total${_}WatchersCount"} }
        qw(RTMP HLS DASH);
}

sub wait_counts {
    my ($want, $what) = @_;
    my $last;
    ok(poll_until(sub { ($last = counts()) eq $want }, 20), $what)
        or diag "RTMP HLS DASH: $last";
}

sub spawn {
    my (@cmd) = @_;
    my $pid = fork // die;
    if ($pid == 0) {
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        exec @cmd;
        exit 127;
    }
    return $pid;
}

# a client that fetches a URL every half second with its own cookie jar
sub fetcher {
    my ($url, $jar) = @_;
    my $pid = fork // die;
    if ($pid == 0) {
        while (1) {
            system('curl', '-s', '-o', '/dev/null', '-b', $jar, '-c', $jar,
                   $url);
            sleep 0.5;
        }
    }
    return $pid;
}

sub stop {
    kill 'KILL', @_;
    waitpid $_, 0 for @_;
}

my $pub = publish($rtmp, seconds => 120, size => '320x240', rate => 25,
                  log => $ng->prefix . '/publisher.log');
ok(poll_until(sub { -s $ng->media . '/LiveApp/streams/cam.m3u8' }, 20),
   'the stream is live');
wait_counts('0 0 0', 'no viewers yet');

# RTMP
my @players = map {
    spawn('ffmpeg', '-nostdin', '-v', 'error', '-i', $rtmp, '-f', 'null', '-')
} 1 .. 2;
wait_counts('2 0 0', 'two ffmpeg RTMP players');
stop($players[0]);
wait_counts('1 0 0', 'one left');
stop($players[1]);
wait_counts('0 0 0', 'none left');

# HLS: two curl clients, each keeping its cookie
my $dir = $ng->prefix;
my @hls = map { fetcher("$http/cam.m3u8", "$dir/jar$_") } 1 .. 2;
wait_counts('0 2 0', 'two HLS clients with cookie jars');
stop($hls[0]);
wait_counts('0 1 0', 'one stops fetching: gone after viewer_timeout');

# ffmpeg's HLS demuxer keeps the cookie across playlist and segments
my $ff = spawn('ffmpeg', '-nostdin', '-v', 'error', '-i', "$http/cam.m3u8",
               '-f', 'null', '-');
wait_counts('0 2 0', 'ffmpeg reading HLS is one more viewer');
stop($ff, $hls[1]);
wait_counts('0 0 0', 'both gone');

# subscriberId names a viewer without cookies
my @sub = map { fetcher("$http/cam.m3u8?subscriberId=viewer$_",
                        '/dev/null') } 1 .. 3;
wait_counts('0 3 0', 'three subscriberIds');
stop(@sub);

# DASH
my $dash = fetcher("$http/cam/cam.mpd", "$dir/jar-dash");
wait_counts('0 0 1', 'a DASH client');
stop($dash);
wait_counts('0 0 0', 'and gone');

my ($st, $doc) = rest($ng, 'GET', '/rest/v2/system-resources');
is($doc->{totalLiveStreamSize}, 1, 'system-resources counts the stream');

kill 'INT', $pub;
wait_publisher($pub, 20);

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
