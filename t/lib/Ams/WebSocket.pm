package Ams::WebSocket;

# A small WebSocket client (RFC 6455) for tests: the handshake, masked
# frames out, frames in with a deadline, and raw bytes for malformed ones.

use strict;
use warnings;

use IO::Socket::INET;
use IO::Select;
use MIME::Base64 qw(encode_base64);
use Digest::SHA qw(sha1_base64);
use Time::HiRes qw(time);
use JSON::PP;

my $GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

# connect to ws://127.0.0.1:$port$path; returns the client, or undef with
# the status line and headers of a refused upgrade in $@
sub connect {
    my ($class, $port, $path, %opt) = @_;

    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $port, Proto => 'tcp',
                                     Timeout => 5) or die "connect: $!";
    my $key = encode_base64(join('', map { chr int rand 256 } 1 .. 16), '');
    my $version = $opt{version} // 13;

    print $sock "GET $path HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n"
        . "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        . "Sec-WebSocket-Key: $key\r\nSec-WebSocket-Version: $version\r\n\r\n";

    my $self = bless { sock => $sock, buf => '' }, $class;
    my $head = $self->_read_until("\r\n\r\n", 5);

    if (!defined $head || $head !~ m{^HTTP/1\.1 101}) {
        $@ = $head // 'no answer';
        return undef;
    }

    (my $want = sha1_base64($key . $GUID)) .= '=';
    my ($accept) = $head =~ /^Sec-WebSocket-Accept:\s*(\S+)/mi;
    if (!defined $accept || $accept ne $want) {
        $@ = "bad Sec-WebSocket-Accept in:\n$head";
        return undef;
    }

    $self->{head} = $head;
    return $self;
}

sub _read_until {
    my ($self, $mark, $secs) = @_;
    my $deadline = time + $secs;
    my $sel = IO::Select->new($self->{sock});

    while (index($self->{buf}, $mark) < 0) {
        my $left = $deadline - time;
        return undef if $left <= 0 || !$sel->can_read($left);
        my $n = sysread($self->{sock}, my $chunk, 65536);
        return undef unless $n;
        $self->{buf} .= $chunk;
    }

    my $i = index($self->{buf}, $mark) + length $mark;
    return substr($self->{buf}, 0, $i, '');
}

# a client frame: masked unless $opt{unmasked}
sub frame {
    my ($opcode, $payload, %opt) = @_;
    my $fin = $opt{fin} // 1;
    my $len = length $payload;
    my $mbit = $opt{unmasked} ? 0 : 0x80;
    my $head = chr(($fin ? 0x80 : 0) | $opcode);

    if ($len < 126) {
        $head .= chr($mbit | $len);
    } elsif ($len < 65536) {
        $head .= chr($mbit | 126) . pack('n', $len);
    } else {
        $head .= chr($mbit | 127) . pack('Q>', $len);
    }

    return $head . $payload if $opt{unmasked};

    my @mask = map { int rand 256 } 1 .. 4;
    my $i = 0;
    my $masked = join '', map { chr(ord($_) ^ $mask[$i++ % 4]) }
                          split //, $payload;
    return $head . pack('C4', @mask) . $masked;
}

sub send_raw {
    my ($self, $bytes) = @_;
    my $sock = $self->{sock};
    local $SIG{PIPE} = 'IGNORE';
    print $sock $bytes;
}

sub send_text { $_[0]->send_raw(frame(1, $_[1])) }
sub send_json { $_[0]->send_text(encode_json($_[1])) }

# the next frame from the server within $secs: (opcode, payload), or ()
# when none came or the connection closed
sub read_frame {
    my ($self, $secs) = @_;
    my $deadline = time + ($secs // 5);
    my $sel = IO::Select->new($self->{sock});

    for (;;) {
        my $b = $self->{buf};
        if (length $b >= 2) {
            my ($b0, $b1) = unpack 'CC', $b;
            my $len = $b1 & 0x7f;
            my $off = 2;
            if ($len == 126 && length $b >= 4) {
                $len = unpack 'n', substr($b, 2, 2);
                $off = 4;
            } elsif ($len == 127 && length $b >= 10) {
                $len = unpack 'Q>', substr($b, 2, 8);
                $off = 10;
            }
            if (($len < 126 || $off > 2) && length $b >= $off + $len) {
                substr($self->{buf}, 0, $off + $len, '');
                return ($b0 & 0x0f, substr($b, $off, $len));
            }
        }

        my $left = $deadline - time;
        return () if $left <= 0 || !$sel->can_read($left);
        my $n = sysread($self->{sock}, my $chunk, 65536);
        return () unless $n;
        $self->{buf} .= $chunk;
    }
}

# the next JSON message whose command is $command (others skipped)
sub expect {
    my ($self, $command, $secs) = @_;
    my $deadline = time + ($secs // 5);

    while ((my $left = $deadline - time) > 0) {
        my ($op, $payload) = $self->read_frame($left);
        return undef unless defined $op;
        next unless $op == 1;
        my $msg = eval { decode_json($payload) } or next;
        return $msg if ($msg->{command} // '') eq $command;
    }

    return undef;
}

# 1 when the server closed the TCP connection within $secs
sub closed_within {
    my ($self, $secs) = @_;
    my $deadline = time + $secs;
    my $sel = IO::Select->new($self->{sock});

    while ((my $left = $deadline - time) > 0) {
        return 0 unless $sel->can_read($left);
        my $n = sysread($self->{sock}, my $chunk, 65536);
        return 1 unless $n;
        $self->{buf} .= $chunk;
    }

    return 0;
}

sub close { close $_[0]{sock} }

1;
