# Misbehaving RTMP clients are disconnected with a clear log line; the
# worker survives and a good stream on the same worker keeps packaging.

use strict;
use warnings;

use Test::More;
use Ams::Nginx;
use Ams::Media;
use Ams::Rtmp;

my $ng = Ams::Nginx->new(workers => 1)->start;
my $port = $ng->rtmp_port;
my $dir = $ng->media . '/LiveApp/streams';
my ($worker) = $ng->worker_pids;

# 12 s: the bad clients below take a few seconds; it outlives them
my $good = publish("rtmp://127.0.0.1:$port/LiveApp/good", seconds => 12);
ok(poll_until(sub { -s "$dir/good.m3u8" }, 15), 'a good stream is live');

sub segments_now {
    my ($segs) = playlist_segments(slurp("$dir/good.m3u8"));
    return @$segs ? $segs->[-1][1] : '';
}

my $before = segments_now();

sub expect_drop {
    my ($name, $log_re, $send) = @_;
    my $c = Ams::Rtmp->new($port);
    $send->($c);
    ok($c->closed_by_server(5), "$name: disconnected");
    ok(poll_until(sub { $ng->error_log =~ $log_re }, 5),
       "$name: logged") or diag(substr($ng->error_log, -2000));
}

expect_drop('garbage bytes', qr/bad handshake: not RTMP/, sub {
    $_[0]->send_raw("GET / HTTP/1.1\r\nHost: x\r\n\r\n" . ("\xff" x 2000));
});

expect_drop('TLS on the plain port', qr/bad handshake: TLS on a plain RTMP port/, sub {
    $_[0]->send_raw("\x16\x03\x01\x02\x00\x01" . ("\0" x 1600));
});

{
    # a handshake cut short: the client goes away, nothing else happens
    my $c = Ams::Rtmp->new($port);
    $c->send_raw("\x03" . ("\0" x 700));
    close $c->{sock};
}

expect_drop('chunk size 0', qr/chunk size out of range/, sub {
    $_[0]->handshake->message(type => 1, csid => 2, payload => pack('N', 0));
});

expect_drop('chunk size over 16 MiB', qr/chunk size out of range/, sub {
    $_[0]->handshake->message(type => 1, csid => 2,
                              payload => pack('N', 0x7fffff00));
});

expect_drop('message longer than the limit',
            qr/message longer than the limit/, sub {
    $_[0]->handshake->message(type => 9, csid => 6, length => 0xfffff0,
                              payload => "\x17\x01" . ("\0" x 100));
});

expect_drop('AMF nested too deep', qr/AMF0 nested too deep/, sub {
    my $deep = ("\x03\x00\x01k" x 40) . "\x05";
    $_[0]->handshake->set_chunk_size(4096);
    $_[0]->command(Ams::Rtmp::amf_string('connect'),
                   Ams::Rtmp::amf_number(1), $deep);
});

expect_drop('publish before connect', qr/command before connect/, sub {
    $_[0]->handshake->command(Ams::Rtmp::amf_string('publish'),
                              Ams::Rtmp::amf_number(0), Ams::Rtmp::amf_null,
                              Ams::Rtmp::amf_string('sneaky'));
});

expect_drop('media before publish', qr/media before publish/, sub {
    $_[0]->handshake->connect_app('LiveApp');
    $_[0]->message(type => 9, csid => 6, msid => 1,
                   payload => "\x17\x01\0\0\0\0\0\0\x01\x65");
});

{
    # a second publisher of a live id hears NetStream.Publish.BadName
    my $c = Ams::Rtmp->new($port);
    $c->handshake->connect_app('LiveApp');
    $c->command(Ams::Rtmp::amf_string('createStream'),
                Ams::Rtmp::amf_number(2), Ams::Rtmp::amf_null);
    $c->message(type => 20, msid => 1, chunk => 4096,
                payload => Ams::Rtmp::amf_string('publish')
                    . Ams::Rtmp::amf_number(0) . Ams::Rtmp::amf_null
                    . Ams::Rtmp::amf_string('good')
                    . Ams::Rtmp::amf_string('live'));
    my $reply = $c->read_for(3);
    like($reply, qr/NetStream\.Publish\.BadName/,
         'a second publisher of "good" gets NetStream.Publish.BadName');
}

{
    my $c = Ams::Rtmp->new($port);
    $c->handshake->connect_app('NoSuchApp');
    like($c->read_for(2), qr/NetConnection\.Connect\.Rejected/,
         'unknown application: NetConnection.Connect.Rejected');
    ok($c->closed_by_server(5), 'unknown application: disconnected');
    like($ng->error_log, qr/connect to unknown application "NoSuchApp"/,
         'unknown application: logged');
}

{
    # a name the client chose cannot forge a log line
    my $c = Ams::Rtmp->new($port);
    $c->handshake->connect_app("Nope\nams rtmp: forged \"line\"");
    like($c->read_for(2), qr/NetConnection\.Connect\.Rejected/,
         'an application name with a newline is rejected');
    ok(poll_until(sub { $ng->error_log =~ /connect to unknown application "Nope\\x0aams rtmp: forged \\x22line\\x22"/ }, 5),
       'and logged with its control characters and quotes escaped')
        or diag(substr($ng->error_log, -1000));
    unlike($ng->error_log, qr/^ams rtmp: forged/m, 'it forged no log line');
}

# a real encoder with a codec we do not take (Sorenson H.263)
my $flv1 = publish("rtmp://127.0.0.1:$port/LiveApp/flv1", seconds => 3,
                   vcodec => 'flv', log => $ng->prefix . '/flv1.log');
isnt(wait_publisher($flv1, 20), 0, 'an H.263 publisher is refused');
ok(poll_until(sub { $ng->error_log =~ /video codec is not supported, only H.264/ }, 5),
   'with a log line naming the codec problem');

# the good stream never noticed
ok(poll_until(sub { my $s = segments_now(); $s && $s ne $before }, 15),
   'the good stream keeps adding segments');
is_deeply([$ng->worker_pids], [$worker], 'the worker is still the same process');

is(wait_publisher($good, 40), 0, 'the good publisher finished normally');
my ($segs, $ended) = playlist_segments(wait_closed("$dir/good.m3u8"));
ok($ended, 'and its playlist was closed');


is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
