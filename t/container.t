# The Dockerfile, built and run as a user runs it: the image builds from
# this tree, a container started with published ports answers its health
# check and serves RTMP -> HLS to ffmpeg and ffprobe on the host, its
# nginx runs as the image's own user with logs on stdout/stderr, the REST
# API and /metrics stay closed to the network unless AMS_ALLOWED_CIDR opens
# them, a wrong environment stops it with a clear message, `podman stop`
# (SIGQUIT) ends it gracefully, and the store lives on the volume.

use strict;
use warnings;

use Test::More;
use File::Temp ();
use Time::HiRes qw(time);
use Ams::Nginx ();
use Ams::Podman;
use Ams::Media qw(publish wait_publisher poll_until ffprobe av_streams
                  video_span playlist_segments);

if (my $why = Ams::Podman::unavailable()) {
    plan skip_all => $why;
}

my $tag = "amst$$";
my ($main, $open, $bad, $volume) = map { "$tag-$_" } qw(main open bad data);
END {
    local $?;
    Ams::Podman::remove($main, $open, $bad) if $tag;
    system("podman volume rm -f $volume >/dev/null 2>&1") if $volume;
}

my $image = eval { Ams::Podman::image() };
ok($image, 'the image builds from this tree') or diag($@);
plan skip_all => 'no image' unless $image;
my $size = Ams::Podman::size($image);
diag(sprintf 'image %s: %.0f MB, built in %.0f s', $image, $size / 1e6,
    Ams::Podman::build_seconds());

my $http = Ams::Nginx::free_port();
my $rtmp = Ams::Nginx::free_port();

# an HTTP status and body from the host, never waiting long
sub get {
    my ($port, $path) = @_;
    my $out = `curl -s --max-time 3 -w '\\n%{http_code}' http://127.0.0.1:$port$path`;
    my ($body, $code) = $out =~ /^(.*)\n(\d+)$/s;
    return ($code // 0, $body // '');
}

sub state {
    my ($name, $field) = @_;
    my $out = eval {
        Ams::Podman::podman('inspect', '--format', "{{$field}}", $name)
    } // '';
    chomp $out;
    return $out;
}

# --- run: from `podman run` to serving ------------------------------------
my $t0 = time;
# this machine's CPU is shared with the rest of the suite: the admission
# limit that would refuse the publisher above 75% is raised
Ams::Podman::podman('run', '-d', '--name', $main, '-v', "$volume:/var/lib/nginx-ams",
    '-e', 'AMS_CPU_LIMIT=100',
    '-p', "127.0.0.1:$http:5080", '-p', "127.0.0.1:$rtmp:1935", $image);
my $serving = poll_until(sub { (get($http, '/rest/v2/liveness'))[0] == 200 }, 30);
my $start = time - $t0;
ok($serving, 'the container answers /rest/v2/liveness on its published port')
    or diag(Ams::Podman::podman('logs', $main));
diag(sprintf 'from podman run to serving: %.2f s', $start);

my ($code, $body) = get($http, '/rest/v2/liveness');
like($body, qr/"status":"ok"/, 'liveness says ok');

# the image's HEALTHCHECK, run as podman's timer would
is(system("podman healthcheck run $main >/dev/null 2>&1"), 0,
    'the HEALTHCHECK passes');
ok(poll_until(sub { state($main, '.State.Health.Status') eq 'healthy' }, 10),
    'podman calls the container healthy');

# --- RTMP in, HLS out, through the published ports --------------------------
my $pub = publish("rtmp://127.0.0.1:$rtmp/LiveApp/cam1",
    seconds => 16, size => '640x360', rate => 25);
my $playlist = poll_until(sub {
    my ($c, $b) = get($http, '/LiveApp/streams/cam1.m3u8');
    $c == 200 && @{ (playlist_segments($b))[0] } >= 3 ? $b : undef;
}, 30);
ok($playlist, 'the HLS playlist lists three segments');

my $url = "http://127.0.0.1:$http/LiveApp/streams/cam1.m3u8";
my ($v, $a) = av_streams(ffprobe($url));
is($v && "$v->{codec_name} $v->{width}x$v->{height}", 'h264 640x360',
    'ffprobe plays H.264 640x360 from the container');
is($a && $a->{codec_name}, 'aac', '... with AAC audio');
cmp_ok(video_span($url), '>=', 5, '... and at least 5 s of video');
is(wait_publisher($pub, 30), 0, 'the publisher finished cleanly');

# --- who runs it, where its logs go ---------------------------------------
my @users = grep { length } map { (split ' ')[0] // '' }
    split /\n/, Ams::Podman::podman('top', $main, 'user');
shift @users;    # the header
ok(@users >= 2 && !grep({ $_ ne 'ams' } @users),
    "nginx's master and workers run as ams, not root (@users)");

my $logs = eval { Ams::Podman::podman('logs', $main) } // '';
like($logs, qr{"GET /LiveApp/streams/cam1\.m3u8 HTTP/1\.1" 200},
    'the access log goes to stdout');
like($logs, qr/\[notice\].*start worker process/, 'the error log goes to stderr');

# --- closed by default, opened by AMS_ALLOWED_CIDR ----------------------------
is((get($http, '/metrics'))[0], 403,
    '/metrics is refused to the network by default');
is((get($http, '/LiveApp/rest/v2/broadcasts/list/0/10'))[0], 403,
    '... and so is the REST API');

# ... and a certificate mounted at /etc/nginx-ams/tls adds HTTPS on 5443
my $tls = File::Temp->newdir;
system("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost"
    . " -keyout $tls/tls.key -out $tls/tls.crt >/dev/null 2>&1") == 0
    or die 'openssl req failed';
chmod 0755, "$tls";
chmod 0644, "$tls/tls.key", "$tls/tls.crt";    # readable by the image's user
my $http2 = Ams::Nginx::free_port();
my $https = Ams::Nginx::free_port();
Ams::Podman::podman('run', '-d', '--name', $open, '-e', 'AMS_ALLOWED_CIDR=all',
    '-v', "$tls:/etc/nginx-ams/tls:ro", '-p', "127.0.0.1:$https:5443",
    '-p', "127.0.0.1:$http2:5080", $image);
ok(poll_until(sub { (get($http2, '/metrics'))[0] == 200 }, 30),
    'AMS_ALLOWED_CIDR=all opens /metrics');
like((get($http2, '/metrics'))[1], qr/^ams_streams_active \d+$/m,
    '... with the Prometheus metrics');
like(scalar `curl -sk --max-time 3 https://127.0.0.1:$https/rest/v2/liveness`,
    qr/"status":"ok"/, 'a mounted certificate adds HTTPS on 5443');
Ams::Podman::remove($open);

# --- a wrong environment stops the container with a clear message -----------
for my $case (
    [ ['AMS_ROLE=origin'], qr/AMS_ROLE=origin needs AMS_MONGODB_URI/ ],
    [ ['AMS_ROLE=relay'], qr/AMS_ROLE must be standalone, origin, edge or balancer/ ],
    [ ['AMS_CPU_LIMIT=80; include /etc/passwd'], qr/AMS_CPU_LIMIT must be one word/ ],
) {
    my ($env, $want) = @$case;
    Ams::Podman::remove($bad);
    my $out = `podman run --name $bad @{[map { "-e " . Ams::Podman::quote($_) } @$env]} $image 2>&1`;
    my $rc = $? >> 8;
    ok($rc != 0 && $out =~ $want, "@$env: exits ($rc) saying $want") or diag($out);
}
Ams::Podman::remove($bad);

# --- podman stop: SIGQUIT, a graceful exit -----------------------------------
my $t1 = time;
Ams::Podman::podman('stop', '-t', '30', $main);
my $stopped = time - $t1;
is(state($main, '.State.ExitCode'), 0, 'podman stop ends nginx with status 0');
cmp_ok($stopped, '<', 25, sprintf('... in %.1f s, not killed at the timeout', $stopped));
like(Ams::Podman::podman('logs', $main), qr/gracefully shutting down/,
    '... by a graceful shutdown (SIGQUIT)');

# --- the store and media are on the volume --------------------------------------
my $files = eval {
    Ams::Podman::podman('run', '--rm', '-v', "$volume:/var/lib/nginx-ams",
        '--entrypoint', 'ls', $image, '-R', '/var/lib/nginx-ams')
} // '';
like($files, qr/^ams\.db$/m, 'the embedded store is on the volume');
like($files, qr{^/var/lib/nginx-ams/media/LiveApp}m, '... and so is the media');

done_testing;
