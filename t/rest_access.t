# Who may call the REST API and /metrics, seen from another machine's
# side: a client reaching the node on its non-loopback address gets 403
# by default (as Ant Media Server's remoteAllowedCIDR 127.0.0.1), mints no
# token and stops no stream; the same calls from 127.0.0.1 work; a valid
# REST JWT opens an application that asks for one from anywhere; and
# ams_remote_allowed_cidr widens the list.  A unix-socket client (a local
# reverse proxy's) is no more trusted than the list says ("unix:").
# Also: a body that does not fit in the first buffer nginx reads, or that
# nginx wrote to a file, is read whole; and a URI with a newline does
# not forge an error.log line.

use strict;
use warnings;

use Test::More;
use Ams::Nginx;
use Ams::Rest;

my ($ext) = grep { !/^127\./ && !/:/ } split ' ', `hostname -I 2>/dev/null`;
my ($ext6) = grep { /:/ && !/^fe80/i } split ' ', `hostname -I 2>/dev/null`;

plan skip_all => 'this machine has no non-loopback IPv4 address'
    unless $ext;

my $key = 'application-rest-secret-0123456789abcdef';
my ($open_port, $wide_port) = map { Ams::Nginx::free_port() } 1 .. 2;
my $listen6 = $ext6 ? "listen  [$ext6]:$open_port;" : '';

my $locations = <<'EOF2';
    location ~ ^/[^/]+/rest/ {
        ams_rest;
    }
    location /rest/ {
        ams_rest;
    }
    location = /metrics {
        ams_metrics;
    }
EOF2

my $ng = Ams::Nginx->new(workers => 2, applications => <<"EOF2",
application LiveApp {
}
application Signed {
    jwt_control_enabled  on;
    jwt_secret_key       $key;
}
EOF2
    http_config => <<"EOF2")->start;
# the node on its public address, with the defaults
server {
    listen  $ext:$open_port;
    $listen6
    client_header_buffer_size  1k;
$locations
}

# behind a local reverse proxy over a unix socket: its clients are
# anyone's, so the socket is not "this machine" unless the list says so
server {
    listen  unix:\$PREFIX/rest.sock;
$locations
}
server {
    listen  unix:\$PREFIX/rest-allowed.sock;
    ams_remote_allowed_cidr  127.0.0.1 ::1 unix:;
$locations
}

# an operator who lets a network in
server {
    listen  $ext:$wide_port;
    ams_remote_allowed_cidr  $ext/24;
    client_body_buffer_size  1k;
$locations
}
EOF2

# curl from this machine to its own public address comes from that address
sub call {
    my ($url, %o) = @_;
    my @cmd = ('curl', '-s', '-o', '-', '-w', '\n%{http_code}',
               '--max-time', '20', '-X', $o{method} // 'GET');
    push @cmd, map { ('-H', $_) } @{ $o{headers} // [] };
    push @cmd, @{ $o{curl} // [] };
    if (defined $o{body}) {
        push @cmd, '-H', 'Content-Type: application/json',
            '--data-binary', $o{body};
    }
    open my $out, '-|', @cmd, $url or die "curl: $!";
    local $/;
    my $text = <$out>;
    close $out;
    my ($raw, $status) = $text =~ /\A(.*)\n(\d+)\z/s or return (0, '');
    return ($status, $raw);
}

my $local = 'http://127.0.0.1:' . $ng->http_port;
my $public = "http://$ext:$open_port";
my $wide = "http://$ext:$wide_port";

# loopback: as before
is((call("$local/rest/v2/liveness"))[0], 200,
   'from 127.0.0.1 the REST API answers');
is((call("$local/metrics"))[0], 200, 'and /metrics');

# the public address, defaults
my ($st, $raw) = call("$public/rest/v2/liveness");
is($st, 403, "from $ext the REST API answers 403");
like($raw, qr/"success":false.*ams_remote_allowed_cidr/,
     'with an AMS-shaped message naming the directive');
is((call("$public/metrics"))[0], 403, '/metrics too');
is((call("$public/LiveApp/rest/v2/broadcasts/cam/token"
         . '?expireDate=' . (time + 600) . '&type=play'))[0], 403,
   'no token is minted for a stranger');
is((call("$public/LiveApp/rest/v2/broadcasts/create", method => 'POST',
         body => '{"streamId":"intruder"}'))[0], 403,
   'no record is created');
is((call("$local/LiveApp/rest/v2/broadcasts/intruder"))[0], 404,
   '(none was)');
is((call("$public/LiveApp/rest/v2/broadcasts/cam", method => 'DELETE'))[0],
   403, 'no stream is stopped');
is((call("$public/Nothing/rest/v2/x"))[0], 403,
   'and nothing tells a stranger which applications exist');
like($ng->error_log, qr/ams rest: \Q$ext\E is not in ams_remote_allowed_cidr/,
     'the log says who was refused');

SKIP: {
    skip 'no global IPv6 address', 1 unless $ext6;
    is((call("http://[$ext6]:$open_port/rest/v2/liveness"))[0], 403,
       "from $ext6 too");
}

# a JWT opens an application that asks for one, from anywhere
my $jwt = jwt_hs256({ sub => 'admin', exp => int(time) + 300 }, $key);
is((call("$public/Signed/rest/v2/broadcasts/count"))[0], 403,
   'an application with jwt_control_enabled: no token, 403');
is((call("$public/Signed/rest/v2/broadcasts/count",
         headers => [ "Authorization: Bearer $jwt" ]))[0], 200,
   'with its JWT: 200 from the public address');
is((call("$public/Signed/rest/v2/broadcasts/count",
         headers => [ 'Authorization: Bearer '
                      . jwt_hs256({ exp => int(time) + 300 }, 'x' x 40) ]))[0],
   403, 'with a JWT signed by another key: 403');

# ams_remote_allowed_cidr widens it
is((call("$wide/rest/v2/liveness"))[0], 200,
   'ams_remote_allowed_cidr with its network: 200');
is((call("$wide/metrics"))[0], 200, 'and /metrics');

# unix sockets: only with "unix:" in the list (as nginx's "allow unix:")
for my $case ([ 'rest.sock', 403, 'by default' ],
              [ 'rest-allowed.sock', 200, 'with "unix:" in the list' ]) {
    my ($sock, $want, $how) = @$case;
    is((call('http://localhost/rest/v2/liveness',
             curl => [ '--unix-socket', $ng->prefix . "/$sock" ]))[0],
       $want, "a unix-socket client $how: $want");
    is((call('http://localhost/metrics',
             curl => [ '--unix-socket', $ng->prefix . "/$sock" ]))[0],
       $want, "and /metrics: $want");
}

# bodies: headers and body over client_header_buffer_size (1k by default)
# arrive in two buffers; over client_body_buffer_size (1k) nginx writes a
# file
my $desc = 'x' x 3000;
($st, $raw) = call("$local/LiveApp/rest/v2/broadcasts/create",
                   method => 'POST',
                   body => qq({"streamId":"split","description":"$desc"}));
is($st, 200, 'a body split over two buffers is read whole') or diag $raw;
($st, $raw) = call("$local/LiveApp/rest/v2/broadcasts/split");
like($raw, qr/"description":"x{3000}"/, 'and stored whole');

$desc = 'y' x 10000;
($st, $raw) = call("$wide/LiveApp/rest/v2/broadcasts/create",
                   method => 'POST',
                   body => qq({"streamId":"infile","description":"$desc"}));
is($st, 200, 'a body nginx kept in a temporary file is read') or diag $raw;
($st, $raw) = call("$local/LiveApp/rest/v2/broadcasts/infile");
like($raw, qr/"description":"y{10000}"/, 'and stored whole');

$desc = 'z' x 17000;
is((call("$local/LiveApp/rest/v2/broadcasts/create", method => 'POST',
         body => qq({"streamId":"big","description":"$desc"})))[0], 413,
   'over 16 KiB: 413');
is((call("$local/LiveApp/rest/v2/broadcasts/create", method => 'POST',
         headers => [ 'Transfer-Encoding: chunked' ],
         body => qq({"streamId":"big","description":"$desc"})))[0], 413,
   'over 16 KiB, chunked (no Content-Length): 413');

# a newline in the URI stays on its line
call("$local/LiveApp/rest/v2/nothing%0Aams%20forged%20line");
my $log = $ng->error_log;
unlike($log, qr/^ams forged line/m, 'a URI with a newline forges no line');
like($log, qr/nothing\\x0aams forged line/, 'it is logged escaped');

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
