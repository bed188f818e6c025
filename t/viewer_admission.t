# How an HLS/DASH viewer stays admitted, tried as an attacker would: a
# viewer admitted with a one-time play token keeps going with the signed
# cookie it got; another client sending that viewer's subscriberId, an
# old-style AMSVIEWER cookie, a made-up value, or the cookie of another
# stream is refused, and its requests do not keep the real viewer
# counted.  A file that is not served (404) sets no cookie and counts no
# viewer; a file in the media location that is no stream's is not served.
# The cookie never outlives its admission (a JWT's exp, a one-time
# token's viewer_admission_time), and one cookie sent with many
# subscriberIds counts as a few viewers at most.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time sleep);
use Ams::Nginx;
use Ams::Media;
use Ams::Rest;

my $stream_key = 'stream-jwt-secret-0123456789abcdef0123456';

my $ng = Ams::Nginx->new(workers => 2, applications => <<"EOF2")->start;
application Secure {
    hls_time                    1s;
    play_token_control_enabled  on;
    viewer_timeout              3s;
}
application LiveApp {
    hls_time        1s;
    viewer_timeout  3s;
}
application Signed {
    play_jwt_control_enabled  on;
    jwt_stream_secret_key     $stream_key;
    viewer_timeout            3s;
}
application Timed {
    play_token_control_enabled  on;
    viewer_admission_time       3s;
    viewer_timeout              3s;
}
EOF2

my $rtmp = 'rtmp://127.0.0.1:' . $ng->rtmp_port;
my $http = 'http://127.0.0.1:' . $ng->http_port;

sub token {
    my ($id, $app) = @_;
    $app //= 'Secure';
    my ($st, $doc) = rest($ng, 'GET', "/$app/rest/v2/broadcasts/$id/token"
                          . '?expireDate=' . int(time + 3600) . '&type=play');
    die "token: $st" unless $st == 200;
    return $doc->{tokenId};
}

# status and Set-Cookie lines of one request
sub get {
    my ($url, %o) = @_;
    my @cmd = ('curl', '-s', '-o', '/dev/null', '-D', '-', '--max-time', '10');
    push @cmd, '-b', $o{jar}, '-c', $o{jar} if $o{jar};
    push @cmd, '-H', "Cookie: $o{cookie}" if $o{cookie};
    # a list, not a shell line: "Cookie: x" stays one argument
    open my $fh, '-|', @cmd, $url or die "curl: $!";
    my $out = do { local $/; <$fh> } // '';
    close $fh;
    my ($status) = $out =~ m{^HTTP/\S+ (\d+)}m;
    my @cookies = $out =~ /^Set-Cookie: ([^\r\n]*)/mig;
    return ($status // 0, @cookies);
}

sub counts {
    my ($app, $id) = @_;
    my ($st, $doc) = rest($ng, 'GET',
                          "/$app/rest/v2/broadcasts/$id/broadcast-statistics");
    return '' unless $st == 200;
    return join ' ', map { $doc->{"total${_}WatchersCount"} } qw(HLS DASH);
}

sub fnv32 {
    my $h = 2166136261;
    for my $c (unpack 'C*', $_[0]) {
        $h = (($h ^ $c) * 16777619) & 0xffffffff;
    }
    return sprintf '%08x', $h;
}

my @pubs = map {
    publish("$rtmp/$_", seconds => 120, size => '320x240', rate => 25,
            log => $ng->prefix . '/pub' . $_ =~ tr{/}{_}r . '.log')
} qw(Secure/cam Secure/other LiveApp/cam);
ok(poll_until(sub {
        -s $ng->media . '/Secure/streams/cam.m3u8'
            && -s $ng->media . '/Secure/streams/other.m3u8'
            && -s $ng->media . '/LiveApp/streams/cam.m3u8'
    }, 30), 'three streams are live');

# the viewer: admitted once with a token, then by its cookie alone
my $m3u8 = "$http/Secure/streams/cam.m3u8";
my $jar = $ng->prefix . '/alice.jar';
my ($st, @set) = get("$m3u8?token=" . token('cam') . '&subscriberId=alice',
                     jar => $jar);
is($st, 200, 'a viewer with a play token and subscriberId alice: 200');
my $name = 'AMSVIEWER_' . fnv32('Secure/cam');
my ($value) = map { /^\Q$name\E=([0-9a-f]+);/ ? $1 : () } @set;
ok($value && length $value == 64,
   "it gets a signed cookie of its own stream ($name)")
    or diag "@set";
like("@set", qr/HttpOnly/, 'HttpOnly');
is((get("$m3u8?subscriberId=alice", jar => $jar))[0], 200,
   'it goes on with the cookie, no token');

# attackers
is((get("$m3u8?subscriberId=alice"))[0], 403,
   'another client sending subscriberId alice: 403');
is((get($m3u8, cookie => 'AMSVIEWER=0123456789abcdef'))[0], 403,
   'an AMSVIEWER cookie of the old kind: 403');
my $forged = $value;
substr($forged, 30, 1) = substr($forged, 30, 1) eq '0' ? '1' : '0';
is((get($m3u8, cookie => "$name=$forged"))[0], 403,
   'the cookie with one digit changed: 403');
my $later = sprintf('%08x', hex(substr($value, 0, 8)) + 86400)
    . substr($value, 8);
is((get($m3u8, cookie => "$name=$later"))[0], 403,
   'the cookie with a later expiry: 403');
my $other = 'AMSVIEWER_' . fnv32('Secure/other');
is((get("$http/Secure/streams/other.m3u8", cookie => "$other=$value"))[0],
   403, "the cookie's value sent for another stream: 403");
is((get("$http/Secure/streams/other.m3u8", jar => $jar))[0], 403,
   'the viewer itself is not admitted to another stream by it');

# the real viewer stops; an attacker keeps sending its subscriberId
ok(poll_until(sub { counts('Secure', 'cam') eq '1 0' }, 10),
   'the viewer is counted') or diag counts('Secure', 'cam');
my $attacker = fork // die;
if ($attacker == 0) {
    while (1) {
        system('curl', '-s', '-o', '/dev/null',
               "$m3u8?subscriberId=alice");
        sleep 0.3;
    }
}
ok(poll_until(sub { counts('Secure', 'cam') eq '0 0' }, 15),
   'once it stops, its subscriberId sent by another does not keep it '
   . 'counted') or diag counts('Secure', 'cam');
kill 'KILL', $attacker;
waitpid $attacker, 0;

# the node's secret outlives a reload: admitted viewers stay admitted
my @old = $ng->worker_pids;
$ng->reload;
ok(poll_until(sub {
        my %old = map { $_ => 1 } @old;
        grep { !$old{$_} } $ng->worker_pids }, 30),
   'after a reload (new workers take the requests)');
is((get($m3u8, jar => $jar))[0], 200, 'the viewer goes on with its cookie');

# 404s count nobody (DASH is off in LiveApp, no adaptive playlist exists)
my $ljar = $ng->prefix . '/missing.jar';
($st, @set) = get("$http/LiveApp/streams/cam/cam.mpd", jar => $ljar);
is($st, 404, 'an MPD that was never written: 404');
is(scalar @set, 0, 'with no cookie');
get("$http/LiveApp/streams/cam/cam.mpd", jar => $ljar) for 1 .. 2;
($st, @set) = get("$http/LiveApp/streams/cam_adaptive.m3u8", jar => $ljar);
is($st, 404, 'an adaptive playlist that does not exist: 404');
sleep 1;
is(counts('LiveApp', 'cam'), '0 0', 'and no viewer counted');
my ($rst, $res) = rest($ng, 'GET', '/rest/v2/system-resources');
is($res->{localDASHViewers}, 0, 'localDASHViewers stays 0');

($st, @set) = get("$http/LiveApp/streams/cam.m3u8", jar => $ljar);
is($st, 200, 'the playlist that exists: 200');
ok(poll_until(sub { counts('LiveApp', 'cam') eq '1 0' }, 10),
   'counts one HLS viewer');

# one cookie sent with many subscriberIds is a few viewers, not one each
my $mjar = $ng->prefix . '/many.jar';
is((get("$http/Secure/streams/other.m3u8?token=" . token('other')
        . '&subscriberId=s0', jar => $mjar))[0], 200,
   'a viewer admitted to other with subscriberId s0');
get("$http/Secure/streams/other.m3u8?subscriberId=s$_", jar => $mjar)
    for 1 .. 19;
my ($many) = split ' ', counts('Secure', 'other');
ok($many >= 1 && $many <= 4,
   "its cookie sent with 20 subscriberIds counts at most 4 viewers ($many)");

# an admission ends: the cookie is renewed while the viewer fetches, but
# never past the JWT's exp or a one-time token's viewer_admission_time
for my $app (qw(Signed Timed)) {
    my $d = $ng->media . "/$app/streams";
    system('mkdir', '-p', $d);
    open my $f, '>', "$d/cam.m3u8" or die;
    print $f "#EXTM3U\n";
    close $f;
}
my $exp = int(time) + 4;
my %admit = (
    Signed => jwt_hs256({ streamId => 'cam', type => 'play', exp => $exp },
                        $stream_key),
    Timed  => token('cam', 'Timed'),
);
my (%jar, %last);
for my $app (sort keys %admit) {
    $jar{$app} = $ng->prefix . "/$app.jar";
    my ($s, @c) = get("$http/$app/streams/cam.m3u8?token=$admit{$app}",
                      jar => $jar{$app});
    is($s, 200, "$app: admitted");
    my ($age) = "@c" =~ /Max-Age=(\d+)/;
    ok(defined $age && $age <= 4,
       "$app: its cookie lasts no longer than the admission (Max-Age "
       . ($age // '?') . ')');
    $last{$app} = "@c" =~ /(AMSVIEWER_\w+=[0-9a-f]+)/ ? $1 : '';
}
# the viewers keep fetching past the end (each renewal kept)
my $until = $exp + 2;
while (time < $until) {
    for my $app (sort keys %admit) {
        my ($s, @c) = get("$http/$app/streams/cam.m3u8",
                          cookie => $last{$app});
        $last{$app} = $1 if "@c" =~ /(AMSVIEWER_\w+=[0-9a-f]+)/;
    }
    sleep 0.5;
}
for my $app (sort keys %admit) {
    is((get("$http/$app/streams/cam.m3u8", cookie => $last{$app}))[0], 403,
       "$app: past the admission's end its latest cookie admits no more");
}

# a file in the media location that is no stream's
my $dir = $ng->media . '/LiveApp/streams';
open my $fh, '>', "$dir/notes.txt" or die;
print $fh "private\n";
close $fh;
is((get("$http/LiveApp/streams/notes.txt"))[0], 404,
   'a file that is no stream\'s is not served');

for (@pubs) {
    kill 'INT', $_;
    wait_publisher($_, 20);
}

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
