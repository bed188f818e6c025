# One client address, or a few, cannot take a worker's RTMP buffers from
# everyone else.  Each address has its own budget of partial messages
# (ams_rtmp_address_buffers), a publisher holds one message and a little
# more, and at the worker's cap (ams_rtmp_worker_buffers) the largest
# holder is disconnected, not the newcomer.  The review's reproduction,
# scaled down 8 times: publishers from 127.0.0.1 holding unfinished
# messages, then command-only connections, then a player from 127.0.0.2
# must still get a stream that a publisher from 127.0.0.3 sends.

use strict;
use warnings;

use Test::More;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);
use Ams::Nginx;
use Ams::Media;
use Ams::Rtmp;

# a client from a loopback address of our choice
sub client_from {
    my ($from, $port) = @_;
    my $s = IO::Socket::INET->new(LocalAddr => $from, PeerAddr => '127.0.0.1',
                                  PeerPort => $port, Proto => 'tcp',
                                  Timeout => 5)
        or die "connect from $from: $!";
    binmode $s;
    return bless { sock => $s }, 'Ams::Rtmp';
}

sub publish_as {
    my ($c, $name) = @_;
    $c->handshake->connect_app('LiveApp');
    $c->command(Ams::Rtmp::amf_string('createStream'),
                Ams::Rtmp::amf_number(2), Ams::Rtmp::amf_null);
    $c->message(type => 20, msid => 1, chunk => 4096,
                payload => Ams::Rtmp::amf_string('publish')
                    . Ams::Rtmp::amf_number(0) . Ams::Rtmp::amf_null
                    . Ams::Rtmp::amf_string($name)
                    . Ams::Rtmp::amf_string('live'));
    my $got = '';
    my $deadline = time + 3;
    $got .= $c->read_for(0.1)
        while time < $deadline && $got !~ /NetStream\.Publish\.\w+/;
    return $got;
}

sub play_as {
    my ($c, $name) = @_;
    $c->handshake->connect_app('LiveApp');
    $c->command(Ams::Rtmp::amf_string('createStream'),
                Ams::Rtmp::amf_number(2), Ams::Rtmp::amf_null);
    $c->message(type => 20, msid => 1, chunk => 4096,
                payload => Ams::Rtmp::amf_string('play')
                    . Ams::Rtmp::amf_number(0) . Ams::Rtmp::amf_null
                    . Ams::Rtmp::amf_string($name));
}

# AAC: the sequence header, then raw frames carrying a marker
my $ts = 0;
sub audio {
    my ($c, $body) = @_;
    $c->message(type => 8, csid => 4, msid => 1, ts => $ts, chunk => 4096,
                payload => "\xaf" . $body);
    $ts += 23;
}

# Sends audio from $pub until $player has received $marker.
sub player_gets {
    my ($pub, $player, $marker, $seconds) = @_;
    my $got = '';
    my $deadline = time + $seconds;
    while (time < $deadline && index($got, $marker) < 0) {
        audio($pub, "\x01" . $marker . ("\x21" x 64));
        $got .= $player->read_for(0.1);
    }
    return $got;
}

# the review's scenario, scaled: a worker of 32 MiB, messages of 1 MiB
# (a publisher could hold 2 MiB), so an address may hold 8 MiB
{
    my $ng = Ams::Nginx->new(workers => 1, stream_config => <<'EOF')->start;
ams_rtmp_worker_buffers  32m;

server {
    listen                  127.0.0.1:$RTMP_PORT;
    ams_rtmp;
    ams_rtmp_max_message    1m;
}
EOF
    my $port = $ng->rtmp_port;
    my $t0 = time;

    my $legit = client_from('127.0.0.3', $port);
    like(publish_as($legit, 'legit'), qr/NetStream\.Publish\.Start/,
         'a publisher from 127.0.0.3 is live');
    audio($legit, "\x00\x12\x10");

    # 16 publishers from one address, each with four unfinished messages
    my @held;
    for my $i (1 .. 16) {
        my $c = client_from('127.0.0.1', $port);
        last unless eval { publish_as($c, "hog$i"); 1 };
        # whole chunks of 128 KiB: the next header starts where one ends
        $c->set_chunk_size(1 << 17);
        for my $p ([6, 128], [7, 256], [8, 384], [9, 896]) {
            last unless defined $c->message(
                type => 9, csid => $p->[0], msid => 1, length => 1 << 20,
                chunk => 1 << 17, payload => 'z' x ($p->[1] << 10));
        }
        push @held, $c;
        audio($legit, "\x01" . ("\x21" x 64));
    }

    # then command-only connections holding 60 KiB each
    my $accepted = 0;
    for my $i (1 .. 272) {
        my $c = client_from('127.0.0.1', $port);
        last unless eval { $c->handshake; 1 };
        $c->set_chunk_size(4096);
        $c->message(type => 20, csid => $_, length => 30720, chunk => 4096,
                    payload => 'z' x 28672) for (10, 11);
        push @held, $c;
        $accepted++;
    }
    diag("$accepted command-only connections from 127.0.0.1 accepted");

    ok(poll_until(sub {
        $ng->error_log =~ /connection refused: 127\.0\.0\.1 holds \d+ bytes of partial messages \(ams_rtmp_address_buffers 8388608\)/
    }, 5), 'the hogging address is refused more, with a log line naming it')
        or diag(substr($ng->error_log, -2000));

    like($ng->error_log,
         qr/partial messages over the connection's limit \(a publisher's limits: message 1048576, partial messages 1310720 bytes/,
         'a publisher holding more than a message and a margin is dropped');

    # the player from another address is served while the hog holds on
    my $player = client_from('127.0.0.2', $port);
    ok(eval { play_as($player, 'legit'); 1 },
       'a new player from 127.0.0.2 gets a handshake') or diag($@);
    my $got = player_gets($legit, $player, 'MARKER-ONE', 5);
    like($got, qr/NetConnection\.Connect\.Success/, 'connects');
    ok(index($got, 'MARKER-ONE') >= 0,
       'and receives the stream published from 127.0.0.3');

    ok(!$legit->closed_by_server(0.1), 'the legitimate publisher stayed');

    close $_->{sock} for @held, $player, $legit;
    is($ng->crashes, '', 'no worker crashed');
    diag(sprintf('%.1f s', time - $t0));
}

# a few addresses at their budget fill the worker: the largest holder is
# disconnected to make room, and a newcomer from elsewhere is served
{
    my $ng = Ams::Nginx->new(workers => 1, stream_config => <<'EOF')->start;
ams_rtmp_worker_buffers   24m;
ams_rtmp_address_buffers  8m;

server {
    listen                  127.0.0.1:$RTMP_PORT;
    ams_rtmp;
    ams_rtmp_max_message    1m;
}
EOF
    my $port = $ng->rtmp_port;

    my $legit = client_from('127.0.0.3', $port);
    like(publish_as($legit, 'legit'), qr/NetStream\.Publish\.Start/,
         'a publisher from 127.0.0.3 is live');
    audio($legit, "\x00\x12\x10");

    # four addresses, seven publishers each, each holding 1 MiB
    my @held;
    for my $a (11 .. 14) {
        for my $i (1 .. 7) {
            my $c = client_from("127.0.0.$a", $port);
            next unless eval { publish_as($c, "a${a}p$i"); 1 };
            $c->set_chunk_size(1 << 17);
            $c->message(type => 9, csid => 6, msid => 1, length => 1 << 20,
                        chunk => 1 << 17, payload => 'z' x (896 << 10));
            push @held, $c;
            audio($legit, "\x01" . ("\x21" x 64));
            sleep 0.02;
        }
    }

    ok(poll_until(sub {
        $ng->error_log =~ /reached ams_rtmp_worker_buffers \(25165824\): disconnecting the largest holder, a publisher from 127\.0\.0\.1[1-4] holding \d+ bytes/
    }, 5), 'at the worker\'s cap the largest holder is disconnected, '
         . 'with a log line naming its address')
        or diag(substr($ng->error_log, -2000));

    my $player = client_from('127.0.0.2', $port);
    ok(eval { play_as($player, 'legit'); 1 },
       'a new player from 127.0.0.2 gets a handshake') or diag($@);
    my $got = player_gets($legit, $player, 'MARKER-TWO', 5);
    ok(index($got, 'MARKER-TWO') >= 0, 'and receives the stream');
    ok(!$legit->closed_by_server(0.1), 'the legitimate publisher stayed');

    close $_->{sock} for @held, $player, $legit;
    is($ng->crashes, '', 'no worker crashed');
}

done_testing();
