package Ams::Rtmp;

# A deliberately small RTMP client for feeding the server bad input:
# handshake, raw chunks, AMF0 encoding.  Good clients in the suite are
# ffmpeg; this one exists to misbehave on purpose.

use strict;
use warnings;

use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(time);

sub new {
    my ($class, $port) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 5)
        or die "connect: $!";
    binmode $s;
    return bless { sock => $s }, $class;
}

sub send_raw {
    my ($self, $bytes) = @_;
    local $SIG{PIPE} = 'IGNORE';
    return syswrite $self->{sock}, $bytes;
}

# Reads what arrives within $timeout; stops at EOF.
sub read_for {
    my ($self, $timeout) = @_;
    my $sel = IO::Select->new($self->{sock});
    my $buf = '';
    my $deadline = time + $timeout;
    while ((my $left = $deadline - time) > 0) {
        last unless $sel->can_read($left);
        my $n = sysread $self->{sock}, my $chunk, 65536;
        last unless $n;
        $buf .= $chunk;
    }
    return $buf;
}

# Reads until what arrived holds $want (a string, or a regex) or $timeout
# passes or EOF: a deadline to wait for an answer, not a fixed wait.
sub read_until {
    my ($self, $want, $timeout) = @_;
    my $sel = IO::Select->new($self->{sock});
    my $buf = '';
    my $deadline = time + $timeout;
    while ((my $left = $deadline - time) > 0) {
        last if ref $want ? $buf =~ $want : index($buf, $want) >= 0;
        last unless $sel->can_read($left);
        my $n = sysread $self->{sock}, my $chunk, 65536;
        last unless $n;
        $buf .= $chunk;
    }
    return $buf;
}

# The answer to createStream (transaction 2, as the tests send it).
sub created_stream {
    my ($self, $timeout) = @_;
    return $self->read_until(amf_string('_result') . amf_number(2),
                             $timeout // 5);
}

# True once the server has closed the connection (within $timeout).
sub closed_by_server {
    my ($self, $timeout) = @_;
    my $sel = IO::Select->new($self->{sock});
    my $deadline = time + $timeout;
    while ((my $left = $deadline - time) > 0) {
        return 0 unless $sel->can_read($left);
        my $n = sysread $self->{sock}, my $chunk, 65536;
        return 1 if !defined $n || $n == 0;
    }
    return 0;
}

sub handshake {
    my ($self) = @_;
    $self->send_raw("\x03" . ("\0" x 1536));
    my $got = '';
    my $sel = IO::Select->new($self->{sock});
    while (length $got < 3073 && $sel->can_read(5)) {
        my $n = sysread $self->{sock}, my $chunk, 65536;
        last unless $n;
        $got .= $chunk;
    }
    die "short handshake reply" if length $got < 3073;
    $self->send_raw(substr($got, 1, 1536));
    return $self;
}

# One message as a single fmt-0 chunk (payload must fit 128 bytes unless
# the caller changed the chunk size) or split at $chunk bytes.
sub message {
    my ($self, %m) = @_;
    my $csid = $m{csid} // 3;
    my $payload = $m{payload} // '';
    my $len = $m{length} // length $payload;
    my $chunk = $m{chunk} // 128;
    my $hdr = pack('C', $csid) . substr(pack('N', $m{ts} // 0), 1)
        . substr(pack('N', $len), 1) . pack('C', $m{type})
        . pack('V', $m{msid} // 0);
    my $out = $hdr . substr($payload, 0, $chunk);
    my $off = $chunk;
    while ($off < length $payload) {
        $out .= pack('C', 0xc0 | $csid) . substr($payload, $off, $chunk);
        $off += $chunk;
    }
    return $self->send_raw($out);
}

sub amf_string { my $s = shift; "\x02" . pack('n', length $s) . $s }
sub amf_number { "\x00" . pack('d>', shift) }
sub amf_null { "\x05" }
sub amf_object {
    my (@kv) = @_;
    my $o = "\x03";
    while (my ($k, $v) = splice @kv, 0, 2) {
        $o .= pack('n', length $k) . $k . $v;
    }
    return $o . "\0\0\x09";
}

sub set_chunk_size {
    my ($self, $size) = @_;
    $self->message(type => 1, csid => 2, payload => pack('N', $size));
    $self->{chunk} = $size;
    return $self;
}

sub command {
    my ($self, @values) = @_;
    return $self->message(type => 20, payload => join('', @values),
                          chunk => $self->{chunk} // 128);
}

sub connect_app {
    my ($self, $app) = @_;
    $self->set_chunk_size(4096);
    return $self->command(amf_string('connect'), amf_number(1),
                          amf_object(app => amf_string($app)));
}

1;
