# WebRTC data channels relayed as Ant Media Server does: an aiortc WHIP
# publisher and two aiortc WHEP players of its stream each open a data
# channel in their offer.  The publisher's messages reach both players;
# a player's reach the publisher and the other player.  A player's
# message of 300000 bytes (over a=max-message-size:262144) is dropped
# with a log line, and its later messages still arrive; another's burst
# of 400 messages at once is cut at 200 a second: nobody's session
# closes.
#
# worker_processes 1: the relay within one worker (across workers:
# t/webrtc_datachannel_workers.t).

use strict;
use warnings;

use Test::More;
use Ams::Nginx;
use Ams::Media;
use Ams::WebRTC;

my $missing = aiortc_missing();
plan skip_all => $missing if $missing;

my $ng = webrtc_nginx(workers => 1)->start;
my $http = 'http://127.0.0.1:' . $ng->http_port;

sub peer {
    my ($kind, $name, @args) = @_;
    return aiortc_start($kind, "$http/LiveApp/$kind/chat",
                        script => 'datachannel', seconds => 0,
                        timeout => 40,
                        args => ['--kind', $kind, '--name', $name, @args]);
}

sub numbers {
    my ($r, $name) = @_;
    return map { /^\Q$name\E:(\d+)$/ ? $1 : () } @{ $r->{received} // [] };
}

my $pub = peer('whip', 'pub', '--expect', 1);
ok(client_poll($pub, sub { ($_[0]{counts}{channel} // '') eq 'open' }, 15),
   'the publisher\'s data channel opens')
    or diag(explain(client_status($pub)), slurp($pub->{err}));

my $p1 = peer('whep', 'p1', '--expect', 1, '--big', 2);
my $p2 = peer('whep', 'p2', '--expect', 1, '--burst', 400);

# every side has heard from every other, p1's after its big one
ok(client_poll($p1, sub { numbers($_[0], 'pub') >= 2
                          && numbers($_[0], 'p2') >= 2 }, 15),
   'player 1 receives the publisher\'s and player 2\'s messages')
    or diag(explain(client_status($p1)), slurp($p1->{err}));
ok(client_poll($p2, sub { numbers($_[0], 'pub') >= 2
                          && grep { $_ > 4 } numbers($_[0], 'p1') }, 15),
   'player 2 receives the publisher\'s, and player 1\'s after its big one')
    or diag(explain(client_status($p2)));
ok(client_poll($pub, sub { (grep { $_ > 4 } numbers($_[0], 'p1'))
                           && numbers($_[0], 'p2') >= 2 }, 15),
   'the publisher receives both players\' messages')
    or diag(explain(client_status($pub)));

my $s1 = client_status($p1);
ok($s1->{counts}{big_sent}, 'player 1 sent a message of 300000 bytes');
for my $c ([pub => $pub], [p2 => $p2]) {
    my $s = client_status($c->[1]);
    ok(!grep({ /^</ } @{ $s->{received} // [] }),
       "$c->[0]: the big message never arrives");
}
ok(poll_until(sub { $ng->error_log =~ /a message over 262144 bytes dropped/ },
              5), 'the drop is logged');

# player 2's burst of 400 at once: over 200 a second, the rest dropped
my @burst = grep { /^p2:b\d+$/ } @{ client_status($pub)->{received} // [] };
ok(@burst >= 150 && @burst < 400,
   'of player 2\'s burst of 400, ' . @burst . ' reach the publisher');
ok(poll_until(sub { $ng->error_log =~ /over 200 messages\/s/ }, 5),
   'the excess is logged');

for my $c ($pub, $p1, $p2) {
    is(client_status($c)->{counts}{channel}, 'open',
       "$c->{name}: its channel is still open");
}

my @r = map { client_stop($_) } $p1, $p2, $pub;
is_deeply([map { @{ $_->{errors} } } @r], [], 'no client error');
is($ng->crashes, '', 'no crash');

done_testing();
