package Ams::Attack;

# Misbehaving RTMP clients run in the background for the fault-injection
# scenario: each forks, misbehaves, and writes what the server did to a
# file of "key=value" words (read back with result()).  The bad clients of
# t/rtmp_bad_input.t, and the attacks the audit (issue 8) tried: a slow
# handshake, a publisher that never sends media, chunk streams filled
# before connect.

use strict;
use warnings;

use Exporter 'import';
use IO::Select;
use POSIX ();
use Time::HiRes qw(time sleep);
use Ams::Rtmp;
use Ams::Media qw(slurp);

our @EXPORT_OK = qw(spawn result slow_handshake no_media_publisher
                    preconnect_flood bad_client_flood);

# Runs $code in a child that writes the hash it returns to $file.
sub spawn {
    my ($file, $code) = @_;
    my $pid = fork // die "fork: $!";
    return $pid if $pid;
    $SIG{PIPE} = 'IGNORE';
    my %r = eval { $code->() };
    %r = (error => $@ =~ s/\s+/_/gr) if $@;
    open my $fh, '>', "$file.tmp" or POSIX::_exit(1);
    print $fh join(' ', map { "$_=$r{$_}" } sort keys %r), "\n";
    close $fh;
    rename "$file.tmp", $file;
    POSIX::_exit(0);
}

# The result a child wrote, as a hash; empty while it runs.
sub result {
    my ($file) = @_;
    my $text = slurp($file) // return;
    return map { split /=/, $_, 2 } split ' ', $text;
}

# Seconds until the server closes the connection while $tick (called
# about every $every seconds) keeps sending; undef if it never does.
sub _held_open {
    my ($c, $limit, $every, $tick) = @_;
    my $t0 = time;
    my $sel = IO::Select->new($c->{sock});
    my $next = $t0 + $every;
    while (time - $t0 < $limit) {
        if ($sel->can_read(0.2)) {
            my $n = sysread $c->{sock}, my $buf, 65536;
            return time - $t0 if !defined $n || $n == 0;
        }
        if (time >= $next) {
            $next += $every;
            my $w = $tick->();
            return time - $t0 if !defined $w;
        }
    }
    return;
}

# A handshake sent one byte a second: closed after (seconds)
sub slow_handshake {
    my ($port, $limit) = @_;
    my $c = Ams::Rtmp->new($port);
    $c->send_raw("\x03");
    my $t = _held_open($c, $limit, 1, sub { $c->send_raw("\0") });
    return (closed_after => defined $t ? sprintf('%.1f', $t) : 'never');
}

# connect, createStream, publish, then nothing but a harmless
# acknowledgement every 5 s: closed after (seconds from publish)
sub no_media_publisher {
    my ($port, $app, $name, $limit) = @_;
    my $c = Ams::Rtmp->new($port);
    $c->handshake->connect_app($app);
    $c->command(Ams::Rtmp::amf_string('createStream'),
                Ams::Rtmp::amf_number(2), Ams::Rtmp::amf_null);
    $c->message(type => 20, msid => 1, chunk => 4096,
                payload => Ams::Rtmp::amf_string('publish')
                    . Ams::Rtmp::amf_number(0) . Ams::Rtmp::amf_null
                    . Ams::Rtmp::amf_string($name)
                    . Ams::Rtmp::amf_string('live'));
    my $acked = 0;
    my $t = _held_open($c, $limit, 5, sub {
        $c->message(type => 3, csid => 2, payload => pack('N', $acked += 100));
    });
    return (closed_after => defined $t ? sprintf('%.1f', $t) : 'never');
}

# Before connect: 30 chunk streams (with the control stream, one under the
# parser's limit of 32) each start an 8 MiB message and keep sending its
# body, up to $max bytes in all.  What a connection may
# buffer before it has published should be small: bytes the server took
# before it closed the connection, and after how long.
sub preconnect_flood {
    my ($port, $max) = @_;
    my $c = Ams::Rtmp->new($port);
    $c->handshake->set_chunk_size(65536);
    my $sock = $c->{sock};
    my $t0 = time;
    my ($sent, $closed) = (0, 0);
    my $piece = "\0" x 65536;

    # a first chunk on each stream: 8 MiB messages, 64 KiB of each
    for my $csid (3 .. 32) {
        my $len = substr(pack('N', (8 << 20) - 1024), 1);
        my $hdr = pack('C', $csid) . "\0\0\0" . $len . pack('C', 20)
            . pack('V', 0);
        my $n = syswrite $sock, $hdr . $piece;
        if (!defined $n) { $closed = 1; last }
        $sent += $n;
    }

    # then fmt-3 continuations round the streams; a blocked socket for 10 s
    # counts as the server no longer reading
    my $sel = IO::Select->new($sock);
    my $csid = 3;
    while (!$closed && $sent < $max && time - $t0 < 30) {
        if (!$sel->can_write(10)) { last }
        my $n = syswrite $sock, pack('C', 0xc0 | $csid) . $piece;
        if (!defined $n) { $closed = 1; last }
        $sent += $n;
        $csid = $csid == 32 ? 3 : $csid + 1;
    }
    if (!$closed) {
        $closed = $c->closed_by_server(10) ? 1 : 0;
    }
    return (closed => $closed, bytes => $sent,
            seconds => sprintf('%.1f', time - $t0));
}

# The bad clients of t/rtmp_bad_input.t, round and round for $seconds:
# how many were tried and how many the server did not close within 5 s.
sub bad_client_flood {
    my ($port, $seconds) = @_;
    my @bad = (
        sub { $_[0]->send_raw("GET / HTTP/1.1\r\nHost: x\r\n\r\n"
                              . ("\xff" x 2000)) },
        sub { $_[0]->send_raw("\x16\x03\x01\x02\x00\x01" . ("\0" x 1600)) },
        sub { $_[0]->handshake->message(type => 1, csid => 2,
                                        payload => pack('N', 0)) },
        sub { $_[0]->handshake->message(type => 1, csid => 2,
                                        payload => pack('N', 0x7fffff00)) },
        sub { $_[0]->handshake->message(type => 9, csid => 6,
                                        length => 0xfffff0,
                                        payload => "\x17\x01" . ("\0" x 100)) },
        sub { $_[0]->handshake->set_chunk_size(4096);
              $_[0]->command(Ams::Rtmp::amf_string('connect'),
                             Ams::Rtmp::amf_number(1),
                             ("\x03\x00\x01k" x 40) . "\x05") },
        sub { $_[0]->handshake->command(Ams::Rtmp::amf_string('publish'),
                                        Ams::Rtmp::amf_number(0),
                                        Ams::Rtmp::amf_null,
                                        Ams::Rtmp::amf_string('sneaky')) },
        sub { $_[0]->handshake->connect_app('LiveApp');
              $_[0]->message(type => 9, csid => 6, msid => 1,
                             payload => "\x17\x01\0\0\0\0\0\0\x01\x65") },
        sub { $_[0]->handshake->connect_app("NoSuch\nApp") },
    );
    my ($tried, $open, $truncated) = (0, 0, 0);
    my $t0 = time;
    while (time - $t0 < $seconds) {
        for my $bad (@bad) {
            my $c = eval { Ams::Rtmp->new($port) } or next;
            $tried++;
            if (!eval { $bad->($c); 1 }) {
                next;               # closed during the handshake already
            }
            $open++ unless $c->closed_by_server(5);
        }
        # a handshake cut short: the client goes away
        my $c = eval { Ams::Rtmp->new($port) } or next;
        $c->send_raw("\x03" . ("\0" x 700));
        close $c->{sock};
        $truncated++;
    }
    return (tried => $tried, left_open => $open, truncated => $truncated);
}

1;
