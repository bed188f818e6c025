# Hostile input to the WebRTC transport while an aiortc viewer plays an
# RTMP stream by WHEP: datagrams of garbage with every first byte (every
# class of RFC 7983's demultiplexing: STUN, ZRTP, DTLS, TURN channels,
# RTP/RTCP, and the undefined ones) to both workers' ports; STUN Binding
# requests for a real session without MESSAGE-INTEGRITY (400), with a
# wrong one (401), without USERNAME (400); DTLS records of garbage from
# an address no check has passed, and from one that has (an
# authenticated check with USE-CANDIDATE, answered with a success
# response: the control that the requests above were well made); RTP
# from it before DTLS; malformed SDP in WHIP and WHEP POSTs.  No media
# is sent to any of those addresses, the viewer keeps decoding frames,
# and the workers are the same processes.

use strict;
use warnings;

use Test::More;
use IO::Select;
use IO::Socket::INET;
use Socket qw(inet_aton pack_sockaddr_in);
use Time::HiRes qw(time);
use Ams::Nginx;
use Ams::Media;
use Ams::WebRTC;

my $missing = aiortc_missing();
plan skip_all => $missing if $missing;

my $ng = webrtc_nginx(workers => 2)->start;
my $base = $ng->{udp_base};
my @ports = ($base, $base + 1);
my $rtmp = 'rtmp://127.0.0.1:' . $ng->rtmp_port;
my $http = 'http://127.0.0.1:' . $ng->http_port;

my $pub = publish("$rtmp/LiveApp/live", seconds => 55, size => '320x240');
ok(poll_until(sub { -s $ng->media . '/LiveApp/streams/live.m3u8' }, 20),
   'the RTMP stream is live');

my $viewer = aiortc_start('whep', "$http/LiveApp/whep/live", seconds => 0,
                          timeout => 50);
ok(client_poll($viewer, sub { ($_[0]{counts}{video_frames} // 0) > 10 }, 25),
   'an aiortc viewer decodes frames')
    or diag(explain client_status($viewer), slurp($viewer->{err}));
my @workers = sort $ng->worker_pids;

sub frames { client_status($viewer)->{counts}{video_frames} // 0 }

sub sock {
    my $s = IO::Socket::INET->new(Proto => 'udp', LocalAddr => '127.0.0.1')
        or die "udp socket: $!";
    return $s;
}

sub send_to {
    my ($s, $port, $data) = @_;
    $s->send($data, 0, pack_sockaddr_in($port, inet_aton('127.0.0.1')));
}

# what arrives on $s for $seconds (or until $until->(datagram) is true)
sub receive {
    my ($s, $seconds, $until) = @_;
    my $sel = IO::Select->new($s);
    my $deadline = time + $seconds;
    my @got;
    while ((my $left = $deadline - time) > 0) {
        last unless $sel->can_read($left);
        $s->recv(my $d, 65536);
        push @got, $d;
        last if $until && $until->($d);
    }
    return @got;
}

# the datagrams that are not STUN: media, or DTLS
sub not_stun { grep { !stun_parse($_) } @_ }

# RTP and RTCP (RFC 7983: first byte 128..191)
sub media { grep { my $b = ord $_; $b >= 128 && $b <= 191 } @_ }

sub rand_bytes { join '', map { chr int rand 256 } 1 .. $_[0] }

# --- garbage of every first byte, to both workers ---------------------------

my $g = sock();
for my $port (@ports) {
    for my $b (0 .. 255) {
        send_to($g, $port, chr($b) . rand_bytes($_ - 1))
            for 1, 13, 64, 300, 1300;
    }
    # STUN-shaped: a length past the end, an attribute past the end, a
    # USERNAME of 64 KB claimed in 8 bytes
    my $txid = rand_bytes(12);
    send_to($g, $port, pack('nnN', 1, 200, 0x2112A442) . $txid);
    send_to($g, $port, pack('nnN', 1, 8, 0x2112A442) . $txid
                       . pack('nn', 0x0006, 0xFFFF) . 'abcd');
    send_to($g, $port, pack('nnN', 1, 4, 0x2112A442) . $txid
                       . pack('nn', 0x0008, 20));
}
is(scalar(not_stun(receive($g, 1.5))), 0,
   'garbage of every first byte: nothing but STUN comes back');

# --- a session of our own to aim at -----------------------------------------

my $offer = sdp_offer(direction => 'recvonly');
my $r = http_request($ng, 'POST', '/LiveApp/whep/live', body => $offer,
                     type => 'application/sdp');
is($r->{status}, 201, 'a WHEP session for the checks');
my $port = sdp_port($r->{body}) // $base;
my $user = (sdp_attr($r->{body}, 'ice-ufrag') // 'none') . ':'
           . sdp_attr($offer, 'ice-ufrag');
my $key = sdp_attr($r->{body}, 'ice-pwd') // 'none';

# a request and the answer to it (the STUN message with its txid)
sub check {
    my ($s, %o) = @_;
    my ($req, $txid) = stun_request(%o);
    send_to($s, $port, $req);
    my @got = receive($s, 2, sub {
        my $m = stun_parse($_[0]);
        $m && $m->{txid} eq $txid;
    });
    my ($m) = grep { $_ && $_->{txid} eq $txid } map { stun_parse($_) } @got;
    return ($m, @got);
}

my $s = sock();
my ($m, @got) = check($s, username => $user, use_candidate => 1);
is($m && $m->{class}, 'error', 'a check without MESSAGE-INTEGRITY: an error');
like($m && $m->{error}, qr/^40[01]$/, 'error 400 (or 401): '
     . ($m->{error} // '-'))
    if $m;
($m) = check($s, username => $user, key => $key, bad_integrity => 1,
             use_candidate => 1);
is($m && $m->{class}, 'error', 'a wrong MESSAGE-INTEGRITY: an error');
is($m && $m->{error}, 401, 'error 401') if $m;
($m) = check($s, key => $key, use_candidate => 1);
is($m && $m->{class}, 'error', 'no USERNAME: an error');
is($m && $m->{error}, 400, 'error 400') if $m;
($m) = check($s, username => 'nobody:x', key => $key, use_candidate => 1);
ok(!$m || $m->{class} eq 'error', 'an unknown ufrag: no success');

# DTLS from an address no check has passed: a ClientHello-shaped record
# of garbage, and application data
for (1 .. 5) {
    send_to($s, $port, pack('CnnNnn', 22, 0xFEFD, 0, 0, $_, 100)
                       . pack('C', 1) . rand_bytes(99));
    send_to($s, $port, pack('CnnNnn', 23, 0xFEFD, 1, 0, $_, 64)
                       . rand_bytes(64));
}
is(scalar(not_stun(@got, receive($s, 2))), 0,
   'no media and no DTLS to an address that passed no check');

# --- an address that passed a check -----------------------------------------

my $peer = sock();
($m) = check($peer, username => $user, key => $key, use_candidate => 1);
is($m && $m->{class}, 'success',
   'an authenticated check with USE-CANDIDATE: success');
ok($m && exists $m->{attrs}{0x0020}, 'with XOR-MAPPED-ADDRESS') if $m;

# then garbage from it: DTLS records that do not parse, RTP and RTCP
# before any keys
for (1 .. 5) {
    send_to($peer, $port, pack('CnnNnn', 22, 0xFEFD, 0, 0, $_, 200)
                       . pack('C', 1) . rand_bytes(199));
    send_to($peer, $port, pack('CCnNN', 0x80, 102, $_, 1000 * $_, 0x1234)
                       . rand_bytes(500));
    send_to($peer, $port, pack('CCnN', 0x81, 200, 6, 0x1234)
                       . rand_bytes(20));
}
@got = receive($peer, 2);
is(scalar(media(@got)), 0, 'garbage from it gets no media (no DTLS was done)');
is(scalar(grep { !stun_parse($_) && (ord($_) < 20 || ord($_) > 63) } @got),
   0, 'nor anything but STUN and DTLS (an alert)')
    or diag(join ' ', map { ord } @got);

# --- malformed SDP ----------------------------------------------------------

for my $kind (qw(whip whep)) {
    my $id = $kind eq 'whip' ? 'newcam' : 'live';
    my %bodies = (
        garbage => rand_bytes(3000),
        'lines without values' => "v=0\r\nm=\r\na=\r\na=candidate:\r\n" x 50,
        'an m-line with 1000 formats' => sdp_offer(direction => 'recvonly')
            =~ s{^(m=video 9 UDP/TLS/RTP/SAVPF)[^\r]*}
                {"$1 " . join ' ', map { $_ % 128 } 1 .. 1000}mer,
        'a huge body' => "a=x:" . ('y' x 200000) . "\r\n",
    );
    for my $what (sort keys %bodies) {
        my $st = http_request($ng, 'POST', "/LiveApp/$kind/$id",
                              body => $bodies{$what},
                              type => 'application/sdp')->{status};
        like($st, qr/^4\d\d$/, "$kind with $what: $st");
    }
}

# --- nobody else was harmed -------------------------------------------------

my $before = frames();
ok(client_poll($viewer, sub { ($_[0]{counts}{video_frames} // 0)
                              >= $before + 30 }, 10),
   "the viewer keeps decoding (past $before frames by 30)")
    or diag(explain client_status($viewer));
is_deeply([sort $ng->worker_pids], \@workers,
          'the workers are the same processes');

$r = client_stop($viewer);
is_deeply($r->{errors}, [], 'the viewer reports no error');

kill 'TERM', $pub;
wait_publisher($pub, 10);

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
