# What an RTMP client costs before it is known is bounded: a connection
# must finish the handshake, connect and publish or play in time (a slow
# sender included), a publisher must send media, a connection buffers
# only small commands until it publishes, and a client address's partial
# messages have a cap past which its new connections are refused.  Each
# is logged, and a real encoder still publishes under these limits.

use strict;
use warnings;

use Test::More;
use IO::Select;
use Socket;
use Time::HiRes qw(time sleep);
use Ams::Nginx;
use Ams::Media;
use Ams::Rtmp;

# the second listener (on the port meant for RTMPS) has a short idle
# timeout and the default handshake one; the third has the defaults
my $fill_port = Ams::Nginx::free_port();
my $ams = Ams::Nginx::default_ams();
$ams =~ s/cpu_limit /publishers_per_address  1;\n    cpu_limit /;
my $ng = Ams::Nginx->new(workers => 1, main_config => $ams,
                         stream_config => <<"EOF")->start;
ams_rtmp_worker_buffers   512k;
ams_rtmp_address_buffers  512k;

server {
    listen                      127.0.0.1:\$RTMP_PORT;
    ams_rtmp;
    ams_rtmp_handshake_timeout  1s;
    ams_rtmp_media_timeout      2s;
}

server {
    listen                      127.0.0.1:\$RTMPS_PORT;
    ams_rtmp;
    ams_rtmp_timeout            1s;
}

server {
    listen                      127.0.0.1:$fill_port;
    ams_rtmp;
}
EOF

my $port = $ng->rtmp_port;
my $idle_port = $ng->rtmps_port;

# Sends $byte every $every seconds until the server closes the
# connection; returns the seconds that took, or undef after $timeout.
sub trickle_until_closed {
    my ($c, $byte, $every, $timeout) = @_;
    my $sel = IO::Select->new($c->{sock});
    my $start = time;
    while (time - $start < $timeout) {
        return time - $start unless defined $c->send_raw($byte);
        next unless $sel->can_read($every);
        my $n = sysread $c->{sock}, my $chunk, 65536;
        return time - $start if !$n;
    }
    return;
}

sub logged {
    my ($re, $name) = @_;
    ok(poll_until(sub { $ng->error_log =~ $re }, 5), $name)
        or diag(substr($ng->error_log, -2000));
}

sub create_and_publish {
    my ($c, $name) = @_;
    $c->command(Ams::Rtmp::amf_string('createStream'),
                Ams::Rtmp::amf_number(2), Ams::Rtmp::amf_null);
    $c->message(type => 20, msid => 1, chunk => 4096,
                payload => Ams::Rtmp::amf_string('publish')
                    . Ams::Rtmp::amf_number(0) . Ams::Rtmp::amf_null
                    . Ams::Rtmp::amf_string($name)
                    . Ams::Rtmp::amf_string('live'));

    # until the answer (the media timeout runs from here)
    my $got = '';
    my $deadline = time + 3;
    while (time < $deadline && $got !~ /NetStream\.Publish\.\w+/) {
        my $more = $c->read_for(0.1);
        $got .= $more;
    }
    return $got . $c->read_for(0.1);
}

# finding 16: a handshake sent one byte at a time never reaches the idle
# timeout; the deadline closes it
{
    my $c = Ams::Rtmp->new($port);
    $c->send_raw("\x03");
    my $t = trickle_until_closed($c, "\0", 0.3, 8);
    ok(defined $t && $t < 5, 'a slow handshake is closed at the deadline')
        or diag('still open after 8 s');
    logged(qr/no handshake within 1000 ms \(ams_rtmp_handshake_timeout\)/,
           'with a log line naming the directive');
}

{
    # connected, then a command that never ends, one byte at a time
    my $c = Ams::Rtmp->new($port);
    $c->handshake->connect_app('LiveApp');
    $c->send_raw("\x03\0\0\0\0\x03\xe8\x14\0\0\0\0");
    my $t = trickle_until_closed($c, "x", 0.3, 8);
    ok(defined $t && $t < 5,
       'a client that connects but neither publishes nor plays is closed');
    logged(qr/neither publishing nor playing within 1000 ms/,
           'and that is logged');
}

{
    # silent after connect, on a listener with a 1 s idle timeout
    my $c = Ams::Rtmp->new($idle_port);
    $c->handshake->connect_app('LiveApp');
    ok($c->closed_by_server(5), 'a silent client is closed at the idle timeout');
    logged(qr/client timed out/, 'with a log line');
}

# finding 5: a publisher that sends no media within ams_rtmp_media_timeout
# (2 s here) is dropped, though it keeps sending bytes
{
    my $c = Ams::Rtmp->new($port);
    $c->handshake->connect_app('LiveApp');
    like(create_and_publish($c, 'quiet'), qr/NetStream\.Publish\.Start/,
         'a publisher starts');
    $c->send_raw("\x06\0\0\0\0\x10\0\0\x09\x01\0\0\0");
    my $t = trickle_until_closed($c, "\0", 0.3, 10);
    ok(defined $t && $t < 6, 'one that sends no media is dropped')
        or diag('still open after 10 s');
    logged(qr/publisher of "LiveApp\/quiet" sent no audio or video for \d+ ms \(ams_rtmp_media_timeout\)/,
           'with a log line');
    logged(qr/unpublish "LiveApp\/quiet"/, 'its stream ended');

    my $d = Ams::Rtmp->new($port);
    $d->handshake->connect_app('LiveApp');
    like(create_and_publish($d, 'quiet'), qr/NetStream\.Publish\.Start/,
         'the name is free for the next publisher');
}

# finding 5: one address may hold publishers_per_address (1 here) live
# publishers; the next hears an AMS-like onStatus error
{
    my $a;
    ok(poll_until(sub {
        $a = Ams::Rtmp->new($port);
        $a->handshake->connect_app('LiveApp');
        return create_and_publish($a, 'one') =~ /NetStream\.Publish\.Start/;
    }, 10), 'a publisher from 127.0.0.1 is live');

    my $b = Ams::Rtmp->new($port);
    $b->handshake->connect_app('LiveApp');
    my $reply = create_and_publish($b, 'two');
    like($reply, qr/NetStream\.Publish\.Failed/,
         'a second one from the same address gets NetStream.Publish.Failed');
    like($reply, qr/Too many publishers from your address/,
         'saying why');
    ok($b->closed_by_server(5), 'and is disconnected');
    logged(qr/publish of "LiveApp\/two" refused: too many publishers from 127\.0\.0\.1/,
           'the refusal is logged');

    close $a->{sock};
    logged(qr/unpublish "LiveApp\/one"/, 'the first one leaves');
}

# finding 6: before publish a connection sends commands only
{
    my $c = Ams::Rtmp->new($port);
    $c->handshake->set_chunk_size(4096);
    $c->command(Ams::Rtmp::amf_string('connect'), Ams::Rtmp::amf_number(1),
                Ams::Rtmp::amf_object(app => Ams::Rtmp::amf_string('LiveApp'),
                    pad => Ams::Rtmp::amf_string('x' x 40000)));
    ok($c->closed_by_server(5), 'a 40 KiB command before publish disconnects');
    logged(qr/message longer than the limit \(the limits for commands: message 32768/,
           'logged with the limit');
}

{
    # three partial messages of 30 KiB: 90 KiB held for a client unknown
    my $c = Ams::Rtmp->new($port);
    $c->handshake->set_chunk_size(4096);
    for my $csid (10 .. 12) {
        $c->message(type => 20, csid => $csid, length => 30720,
                    chunk => 4096, payload => 'y' x 28672);
    }
    ok($c->closed_by_server(5),
       'partial messages over 64 KiB before publish disconnect');
    logged(qr/partial messages over the connection's limit/, 'and are logged');
}

{
    # commands whose replies are never read: the replies are capped too
    my $c = Ams::Rtmp->new($fill_port);
    setsockopt($c->{sock}, Socket::SOL_SOCKET(), Socket::SO_RCVBUF(), 4096);
    $c->handshake->connect_app('LiveApp');
    my $ping = pack('C', 2) . "\0\0\0" . "\0\0\x06" . "\x04" . "\0\0\0\0"
        . "\0\x06\0\0\0\0";
    my $sel = IO::Select->new($c->{sock});
    my ($sent, $closed) = (0, 0);
    my $deadline = time + 20;
    while (time < $deadline && $sent < 64 * 1024 * 1024) {
        # the server stops reading while its replies back up; once it
        # closes, a write fails
        next unless $sel->can_write(0.5);
        my $n = $c->send_raw($ping x 1000);
        $closed = 1, last unless defined $n;
        $sent += $n;
    }
    ok($closed || $c->closed_by_server(5),
       'a client that never reads its replies is disconnected')
        or diag("sent $sent bytes");
    logged(qr/output backlog over 65536 bytes, disconnecting/,
           'at 64 KiB of replies, with a log line');
}

# finding 6: partial messages are capped, per client address (512k here,
# as much as the worker's: t/rtmp_address_buffers.t has the worker's cap):
# clients from 127.0.0.1 holding 60 KiB each fill it, the next connection
# from there is refused
{
    my (@held, $refused);
    for my $i (1 .. 20) {
        my $c = Ams::Rtmp->new($fill_port);
        unless (eval { $c->handshake; 1 }) {
            $refused = $i;
            last;
        }
        $c->set_chunk_size(4096);
        for my $csid (10, 11) {
            $c->message(type => 20, csid => $csid, length => 30720,
                        chunk => 4096, payload => 'z' x 28672);
        }
        push @held, $c;
        # the worker takes these bytes before the next handshake
        sleep 0.1;
    }
    ok($refused && $refused > 5,
       'clients fill their address\'s buffers, then a connection is refused')
        or diag("refused: " . ($refused // 'none'));
    logged(qr/connection refused: 127\.0\.0\.1 holds \d+ bytes of partial messages \(ams_rtmp_address_buffers 524288\)/,
           'the refusal is logged');

    my $open = grep { !$_->closed_by_server(0.2) } @held;
    is($open, scalar @held, 'the clients already in stay connected');

    close $_->{sock} for @held;

    ok(poll_until(sub {
        my $c = Ams::Rtmp->new($port);
        return 0 unless eval { $c->handshake; 1 };
        $c->connect_app('LiveApp');
        return $c->read_for(1) =~ /NetConnection\.Connect\.Success/;
    }, 10), 'once they leave, their share is free: a client connects again');
}

# a real encoder is not bothered by these limits
my $pid = publish("rtmp://127.0.0.1:$port/LiveApp/real", seconds => 4,
                  size => '320x240');
is(wait_publisher($pid, 30), 0, 'ffmpeg publishes under these limits');
unlike($ng->error_log, qr/"LiveApp\/real" sent no audio/,
       'and is never taken for a silent publisher');

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
