# WebRTC data channels across workers: nginx with 2 workers, an aiortc
# WHIP publisher and an aiortc WHEP player of one stream held by
# different workers (the worker is the one whose UDP port the answer
# names; players are started, three at a time, until one lands on the
# other worker, through a reuseport server that spreads connections).  The
# publisher's messages reach the player and the player's reach the
# publisher (each worker's mailbox, woken through the bus).  REST's
# POST broadcasts/{id}/data with a text body (not JSON) is
# {"success":true} and reaches both, whichever worker took it; for a
# stream without a data channel here it is 200 with success false.

use strict;
use warnings;

use Test::More;
use Ams::Nginx;
use Ams::Media;
use Ams::Rest;
use Ams::WebRTC;

my $missing = aiortc_missing();
plan skip_all => $missing if $missing;

my $spread = Ams::Nginx::free_port();
my $ng = webrtc_nginx(workers => 2);
$ng->{http_config} = <<"EOF2";
server {
    listen  127.0.0.1:$spread reuseport;
    location ~ ^/[^/]+/(whip|whep)/ {
        ams_webrtc  on;
    }
}
EOF2
$ng->start;
my $http = "http://127.0.0.1:$spread";

sub peer {
    my ($kind, $name) = @_;
    return aiortc_start($kind, "$http/LiveApp/$kind/chat",
                        script => 'datachannel', seconds => 0,
                        timeout => 45,
                        args => ['--kind', $kind, '--name', $name,
                                 '--expect', 1]);
}

sub numbers {
    my ($r, $name) = @_;
    return map { /^\Q$name\E:(\d+)$/ ? $1 : () } @{ $r->{received} // [] };
}

sub port_of {
    my ($c) = @_;
    my $s = client_poll($c, sub { sdp_port($_[0]{answer}) }, 30);
    return $s ? sdp_port($s->{answer}) : 0;
}

my $pub = peer('whip', 'pub');
my $pub_port = port_of($pub);
ok($pub_port, "the publisher's session is on port $pub_port")
    or diag(explain(client_status($pub)), slurp($pub->{err}));
ok(client_poll($pub, sub { ($_[0]{counts}{channel} // '') eq 'open' }, 30),
   'the publisher\'s data channel opens')
    or diag(explain(client_status($pub)), slurp($pub->{err}));

# a player on the other worker: three at a time, each named apart, the
# others stopped
my ($player, $player_port, $name, @extra);
ROUND: for my $round (1 .. 4) {
    my @p = map { [peer('whep', "p$round$_"), "p$round$_"] } qw(a b c);
    for my $p (@p) {
        my $port = port_of($p->[0]);
        if (!$player && $port && $port != $pub_port) {
            ($player, $name, $player_port) = (@$p, $port);
        } else {
            push @extra, $p->[0];
        }
    }
    last ROUND if $player;
}
client_stop($_) for @extra;
ok($player, "a player on the other worker's port ("
            . ($player_port // 'none') . ')')
    or do {
        client_stop($pub);
        done_testing();
        exit;
    };

ok(client_poll($player, sub { numbers($_[0], 'pub') >= 2 }, 30),
   'the player receives the publisher\'s messages from the other worker')
    or diag(explain(client_status($player)), slurp($player->{err}),
            $ng->error_log =~ /^.*(?:webrtc data|mailbox).*$/mg);
ok(client_poll($pub, sub { numbers($_[0], $name) >= 2 }, 30),
   'the publisher receives the player\'s messages from the other worker')
    or diag(explain(client_status($pub)));

# REST: the message to both, whichever worker takes the call
for my $i (1 .. 2) {
    my ($status, $doc, $raw) = rest($ng, 'POST',
        '/LiveApp/rest/v2/broadcasts/chat/data', body => "rest message $i");
    is($status, 200, "REST data $i: 200");
    ok($doc && $doc->{success}, "REST data $i: success") or diag($raw);
}
for my $c ([publisher => $pub], [player => $player]) {
    ok(client_poll($c->[1], sub {
           my %r = map { $_ => 1 } @{ $_[0]{received} // [] };
           $r{'rest message 1'} && $r{'rest message 2'} }, 20),
       "the $c->[0] receives both REST messages")
        or diag(explain(client_status($c->[1])));
}

my ($status, $doc, $raw) = rest($ng, 'POST',
    '/LiveApp/rest/v2/broadcasts/nobody/data', body => 'hello');
is($status, 200, 'REST data to a stream without data channel: 200');
ok($doc && !$doc->{success} && ($doc->{message} // '') =~ /no data channel/,
   'with success false, "no data channel"') or diag($raw);

($status) = rest($ng, 'GET', '/LiveApp/rest/v2/broadcasts/chat/data');
is($status, 405, 'GET on data: 405');

my @r = map { client_stop($_) } $player, $pub;
is_deeply([map { @{ $_->{errors} } } @r], [], 'no client error');
unlike($ng->error_log, qr/mailbox is full|malformed record/,
       'no mailbox drop or damage');
is($ng->crashes, '', 'no crash');

done_testing();
