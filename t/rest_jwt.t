# JWT on the REST API: with jwt_control_enabled (per application) and
# jwt_server_control_enabled (server level), a call needs a valid HS256
# token in Authorization (bare, as AMS sends it, or "Bearer ").  Missing,
# wrongly signed, expired, "alg: none" and garbage tokens get 403.

use strict;
use warnings;

use Test::More;
use MIME::Base64 qw(encode_base64url);
use IO::Socket::INET;
use IO::Select;
use Ams::Nginx;
use Ams::Rest;

my $app_key = 'application-rest-secret-0123456789abcdef';
my $srv_key = 'server-rest-secret-0123456789abcdef0123';

my $ng = Ams::Nginx->new(main_config => <<"EOF2")->start;
ams {
    storage                     \$MEDIA;
    thread_pool                 ams;
    bus_zone_size               64m;
    jwt_server_control_enabled  on;
    jwt_server_secret_key       $srv_key;

    application LiveApp {
        jwt_control_enabled  on;
        jwt_secret_key       $app_key;
    }
    application Open {
    }
}
EOF2

my $count = '/LiveApp/rest/v2/broadcasts/count';
my $good = jwt_hs256({ sub => 'admin', exp => int(time) + 300 }, $app_key);

sub status_with {
    my ($path, @headers) = @_;
    my ($st, $doc) = rest($ng, 'GET', $path, headers => \@headers);
    return $st;
}

is(status_with($count), 403, 'no token: 403');
my ($st, $doc) = rest($ng, 'GET', $count);
like($doc->{message}, qr/JWT/, 'with an AMS-shaped message');
is(status_with($count, "Authorization: $good"), 200, 'a bare token: 200');
is(status_with($count, "Authorization: Bearer $good"), 200,
   'a Bearer token: 200');
is(status_with($count, 'Authorization: Bearer '
               . jwt_hs256({ exp => int(time) + 300 }, 'x' x 40)), 403,
   'signed with another key: 403');
is(status_with($count, 'Authorization: '
               . jwt_hs256({ exp => int(time) - 5 }, $app_key)), 403,
   'expired: 403');
my $none = encode_base64url('{"alg":"none","typ":"JWT"}') . '.'
    . encode_base64url('{"sub":"admin"}') . '.';
is(status_with($count, "Authorization: $none"), 403, 'alg none: 403');
is(status_with($count, 'Authorization: Bearer garbage'), 403,
   'garbage: 403');
is(status_with($count, "Authorization: Bearer "
               . jwt_hs256({ sub => 'x' }, $srv_key)), 403,
   'the server key does not open an application');

is(status_with('/Open/rest/v2/broadcasts/count'), 200,
   'an application without jwt_control stays open');

is(status_with('/rest/v2/liveness'), 403, 'server level, no token: 403');
is(status_with('/rest/v2/liveness', 'Authorization: '
               . jwt_hs256({ sub => 'ops' }, $srv_key)), 200,
   'server level, its key: 200');

# the token is checked before the body is read: a chunked body that
# never comes is not waited for (nor one up to client_max_body_size read,
# spooled to disk, then refused)
sub first_line_without_body {
    my ($path, @headers) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $ng->http_port,
                                  Proto => 'tcp') or die "connect: $!";
    print $s "POST $path HTTP/1.1\r\nHost: localhost\r\n"
           . "Content-Type: application/json\r\n"
           . "Transfer-Encoding: chunked\r\n"
           . join('', map { "$_\r\n" } @headers) . "\r\n";
    my $line = '';
    my $sel = IO::Select->new($s);
    $line = <$s> // '' if $sel->can_read(3);
    close $s;
    return $line =~ m{^HTTP/1\.1 (\d+)} ? $1 : 'no answer in 3 s';
}

is(first_line_without_body('/LiveApp/rest/v2/broadcasts/create'), 403,
   'no token: 403 before the body is read');
is(first_line_without_body('/rest/v2/liveness'), 403,
   'server level, no token: 403 before the body is read');
is(first_line_without_body('/LiveApp/rest/v2/broadcasts/create',
                           "Authorization: $good"), 'no answer in 3 s',
   'a token: the body is waited for');

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
