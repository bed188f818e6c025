# A player that stops reading for a while (a slow link, a stalled app)
# is throttled, not disconnected: its unsent backlog stops at
# ams_rtmp_out_queue, it skips to a keyframe when it is overrun, and it
# gets media again once it reads.  Its socket filling up is no error.

use strict;
use warnings;

use Test::More;
use Socket qw(SOL_SOCKET SO_RCVBUF);
use Time::HiRes qw(time sleep);
use Ams::Nginx;
use Ams::Media;
use Ams::Rtmp;

my $ng = Ams::Nginx->new(workers => 1, stream_config => <<'EOF2')->start;
server {
    listen               127.0.0.1:$RTMP_PORT;
    ams_rtmp;
    ams_rtmp_out_queue   64k;
}
EOF2

my $port = $ng->rtmp_port;
# live for what follows (1 + 10 + 3 + 1 s once it is up) and a margin
my $pub = publish("rtmp://127.0.0.1:$port/LiveApp/slow", seconds => 24,
                  size => '1280x720');
ok(poll_until(sub { $ng->error_log =~ /publish "LiveApp\/slow"/ }, 15),
   'a stream is live');

my $c = Ams::Rtmp->new($port);
setsockopt($c->{sock}, SOL_SOCKET, SO_RCVBUF, 65536);
$c->handshake->connect_app('LiveApp');
$c->command(Ams::Rtmp::amf_string('createStream'), Ams::Rtmp::amf_number(2),
            Ams::Rtmp::amf_null);
$c->message(type => 20, msid => 1, chunk => 4096,
            payload => Ams::Rtmp::amf_string('play') . Ams::Rtmp::amf_number(3)
                       . Ams::Rtmp::amf_null . Ams::Rtmp::amf_string('slow'));

my $first = $c->read_for(1);
ok(length $first > 10000, 'the player gets media (' . length($first)
   . ' bytes in 1 s)');

# stop reading for longer than the socket buffers last (the kernel's send
# buffer grows to 4 MiB): the server's writes then find the socket full
sleep 10;

my $later = $c->read_for(3);
ok(length $later > 100000, 'after 10 s without reading it gets media ('
   . length($later) . ' bytes in 3 s)')
    or diag(substr($ng->error_log, -3000));
ok(!$c->closed_by_server(1), 'and is still connected (a full socket is no error)');
unlike($ng->error_log, qr/ended for this player/,
       'the stream did not end for it');

is(wait_publisher($pub, 40), 0, 'the publisher went on undisturbed');
is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
