# The WebRTC transport on its own: each worker's UDP port in the answers
# it writes, STUN checks answered as RFC 8489 and ICE say (400 for a check
# missing what ICE needs, 401 for a wrong or unknown key, success with
# XOR-MAPPED-ADDRESS and integrity), nothing for garbage, DTLS completed
# with a real peer (aiortc), and sessions ended by their timers: the
# handshake deadline, and consent once the peer goes silent.

use strict;
use warnings;

use Test::More;
use IO::Socket::INET;
use HTTP::Tiny;
use Digest::SHA qw(hmac_sha1);
use Compress::Zlib qw(crc32);
use Time::HiRes qw(time sleep);
use Ams::Nginx;
use Ams::Media;

my $PY = '/usr/bin/python3';
my $PEER = 't/webrtc_transport.py';

plan skip_all => 'aiortc is not installed'
    unless system("$PY -c 'import aiortc' 2>/dev/null") == 0;

# two UDP ports free in a row, for two workers
sub udp_base {
    for (1 .. 50) {
        my $base = 20000 + int(rand(20000));
        my @s = map {
            IO::Socket::INET->new(Proto => 'udp', LocalAddr => '0.0.0.0',
                                  LocalPort => $base + $_)
        } 0 .. 1;
        next if grep { !$_ } @s;
        close $_ for @s;
        return $base;
    }
    die "no free UDP ports";
}

my $base = udp_base();
my $ams = Ams::Nginx::default_ams();
$ams =~ s/cpu_limit /webrtc_udp_port_base      $base;
    webrtc_public_address     127.0.0.1;
    webrtc_handshake_timeout  3s;
    webrtc_consent_timeout    3s;
    cpu_limit /;

my $ng = Ams::Nginx->new(
    modules     => [qw(core ingest packager api transcode webrtc)],
    workers     => 2,
    main_config => $ams,
    config      => Ams::Nginx::default_server() . <<'EOF',
location ~ ^/[^/]+/(whip|whep)/ {
    ams_webrtc  on;
}
EOF
);

my ($up, $why) = $ng->try_start;
plan skip_all => 'the WebRTC module is not complete yet (a part is missing)'
    if !$up && $why =~ /undefined symbol/;
die "nginx failed to start: $why" unless $up;

my $http = HTTP::Tiny->new(timeout => 10);
my $url = 'http://127.0.0.1:' . $ng->http_port;

my $offer = `$PY $PEER offer -`;
like($offer, qr/^v=0/, 'aiortc wrote an offer');

sub post {
    my ($path, $body, $type) = @_;
    return $http->request('POST', "$url$path", {
        headers => { 'Content-Type' => $type // 'application/sdp' },
        content => $body,
    });
}

sub answer_of {
    my ($res) = @_;
    my %a;
    ($a{ufrag}) = $res->{content} =~ /a=ice-ufrag:(\S+)/;
    ($a{pwd}) = $res->{content} =~ /a=ice-pwd:(\S+)/;
    ($a{port}) = $res->{content}
        =~ /a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 (\d+)/;
    ($a{id}) = ($res->{headers}{location} // '') =~ m{/([0-9a-f]{32})$};
    return \%a;
}

# --- signalling ---

my $res = post('/LiveApp/whip/raw1', $offer);
is($res->{status}, 201, 'WHIP POST: 201 Created');
like($res->{headers}{location} // '', qr{^/LiveApp/whip/raw1/[0-9a-f]{32}$},
     'Location names the session by 128 random bits');
like($res->{headers}{etag} // '', qr/^"\w+"$/, 'an ETag');
is($res->{headers}{'access-control-allow-origin'}, '*', 'CORS');
like($res->{headers}{'content-type'} // '', qr{^application/sdp},
     'the answer is SDP');
my $raw = answer_of($res);
ok($raw->{ufrag} && $raw->{pwd}, 'with ICE credentials');
ok($raw->{port} == $base || $raw->{port} == $base + 1,
   "a candidate on 127.0.0.1 at a worker's port ($raw->{port})");
like($res->{content}, qr/a=ice-lite/, 'ICE-lite');
like($res->{content}, qr/a=setup:passive/,
     'DTLS server to an actpass offer');

is(post('/LiveApp/whip/raw2', $offer, 'text/plain')->{status}, 415,
   '415 for another Content-Type');
is(post('/LiveApp/whip/raw2', "v=0\r\nbroken\r\n")->{status}, 422,
   '422 for an offer we cannot use');
is(post('/NoApp/whip/raw2', $offer)->{status}, 404, '404 for no application');

$res = $http->request('OPTIONS', "$url/LiveApp/whep/raw1");
is($res->{status}, 204, 'OPTIONS: 204');
like($res->{headers}{'access-control-allow-methods'} // '', qr/POST/,
     'with the methods allowed');
like($res->{headers}{'access-control-expose-headers'} // '', qr/Location/,
     'and Location exposed');

# --- STUN ---

sub attr {
    my ($type, $value) = @_;
    my $pad = (4 - length($value) % 4) % 4;
    return pack('nn', $type, length $value) . $value . ("\0" x $pad);
}

sub stun_request {
    my (%o) = @_;
    my $txid = join '', map { chr int rand 256 } 1 .. 12;
    my $attrs = '';
    $attrs .= attr(0x0006, $o{username}) if defined $o{username};
    $attrs .= attr(0x0024, pack('N', 0x6e7f00ff)) unless $o{no_priority};
    $attrs .= attr(0x802A, pack('NN', 1, 2));                # CONTROLLING
    $attrs .= attr(0x0025, '') if $o{use_candidate};
    if (defined $o{key}) {
        my $hdr = pack('nnN', 1, length($attrs) + 24, 0x2112A442) . $txid;
        $attrs .= attr(0x0008, hmac_sha1($hdr . $attrs, $o{key}));
    }
    unless ($o{no_fingerprint}) {
        my $hdr = pack('nnN', 1, length($attrs) + 8, 0x2112A442) . $txid;
        $attrs .= attr(0x8028,
                       pack('N', crc32($hdr . $attrs) ^ 0x5354554e));
    }
    return (pack('nnN', 1, length $attrs, 0x2112A442) . $txid . $attrs,
            $txid);
}

# the answer: type, error code, mapped "ip:port", integrity valid
sub stun_answer {
    my ($sock, $data, $txid, $key) = @_;
    $sock->send($data);
    my $buf;
    my $rin = '';
    vec($rin, fileno($sock), 1) = 1;
    return undef unless select(my $rout = $rin, undef, undef, 2);
    $sock->recv($buf, 2048);
    my ($type, $len, $cookie, $tx) = unpack('nnNa12', $buf);
    return { bad => 'txid' } if $tx ne $txid;
    my %r = (type => $type, integrity => 0);
    my $off = 20;
    while ($off + 4 <= 20 + $len) {
        my ($t, $l) = unpack('nn', substr($buf, $off, 4));
        my $v = substr($buf, $off + 4, $l);
        if ($t == 0x0009) {
            my (undef, $class, $num) = unpack('nCC', $v);
            $r{code} = $class * 100 + $num;
        } elsif ($t == 0x0020) {
            my (undef, $fam, $port, $addr) = unpack('CCnN', $v);
            $r{mapped} = join('.', unpack('C4', pack('N',
                                  $addr ^ 0x2112A442)))
                         . ':' . ($port ^ 0x2112);
        } elsif ($t == 0x0008 && defined $key) {
            my $hdr = pack('nnN', $type, $off - 20 + 24, 0x2112A442) . $tx;
            $r{integrity} = hmac_sha1($hdr . substr($buf, 20, $off - 20),
                                      $key) eq $v ? 1 : 0;
        }
        $off += 4 + $l + (4 - $l % 4) % 4;
    }
    return \%r;
}

my $sock = IO::Socket::INET->new(Proto => 'udp', PeerAddr => '127.0.0.1',
                                 PeerPort => $raw->{port})
    or die "udp: $!";
my $me = '127.0.0.1:' . $sock->sockport;
my $user = "$raw->{ufrag}:peer";

my ($req, $tx) = stun_request(username => $user, key => $raw->{pwd});
my $r = stun_answer($sock, $req, $tx, $raw->{pwd});
is($r && $r->{type}, 0x0101, 'an authenticated check: success');
is($r && $r->{mapped}, $me, 'XOR-MAPPED-ADDRESS is where it came from');
ok($r && $r->{integrity}, 'with MESSAGE-INTEGRITY of our password');

($req, $tx) = stun_request(username => $user, key => 'not the password');
$r = stun_answer($sock, $req, $tx);
is($r && $r->{code}, 401, 'a wrong password: 401');

($req, $tx) = stun_request(username => 'nosuchuf:peer', key => 'x' x 24);
$r = stun_answer($sock, $req, $tx);
is($r && $r->{code}, 401, 'an unknown ufrag: 401');

($req, $tx) = stun_request(username => $user, key => $raw->{pwd},
                           no_priority => 1);
$r = stun_answer($sock, $req, $tx, $raw->{pwd});
is($r && $r->{code}, 400, 'no PRIORITY: 400');
ok($r && $r->{integrity}, 'signed: the request proved the key');

($req, $tx) = stun_request(key => $raw->{pwd});
$r = stun_answer($sock, $req, $tx);
is($r && $r->{code}, 400, 'no USERNAME: 400');

($req, $tx) = stun_request(username => $user);
$r = stun_answer($sock, $req, $tx);
is($r && $r->{code}, 400, 'no MESSAGE-INTEGRITY: 400');

($req, $tx) = stun_request(username => $user, key => $raw->{pwd},
                           no_fingerprint => 1);
$r = stun_answer($sock, $req, $tx, $raw->{pwd});
is($r && $r->{code}, 400, 'no FINGERPRINT: 400');

$r = stun_answer($sock, "\x16\xfe\xfd" . ("\0" x 40), '');
is($r, undef, 'DTLS from an address no check selected: no answer');
$r = stun_answer($sock, "\x80\x60" . ("\0" x 40), '');
is($r, undef, 'RTP from it: no answer');

ok(poll_until(sub { $ng->error_log =~ /ICE timed out.*$raw->{id}/ }, 5),
   'no check with USE-CANDIDATE within webrtc_handshake_timeout: it ends');

# selected, but no DTLS comes: the handshake deadline ends it
$raw = answer_of(post('/LiveApp/whip/raw3', $offer));
$sock = IO::Socket::INET->new(Proto => 'udp', PeerAddr => '127.0.0.1',
                              PeerPort => $raw->{port})
    or die "udp: $!";
$me = '127.0.0.1:' . $sock->sockport;
$user = "$raw->{ufrag}:peer";
($req, $tx) = stun_request(username => $user, key => $raw->{pwd},
                           use_candidate => 1);
$r = stun_answer($sock, $req, $tx, $raw->{pwd});
is($r && $r->{type}, 0x0101, 'USE-CANDIDATE: success');
ok(poll_until(sub { $ng->error_log =~ /ICE selected \Q$me\E.*$raw->{id}/ },
              5), 'and the path is selected');
ok(poll_until(sub { $ng->error_log =~
                    /DTLS handshake timed out.*$raw->{id}/ }, 8),
   'no DTLS within webrtc_handshake_timeout: the session ends');

($req, $tx) = stun_request(username => $user, key => $raw->{pwd});
$r = stun_answer($sock, $req, $tx);
is($r && $r->{code}, 401, 'its ufrag is then unknown: 401');

# --- DTLS with a real peer, then consent ---

my $out = "$ENV{TMPDIR}/webrtc_transport.$$" if $ENV{TMPDIR};
$out //= "/tmp/webrtc_transport.$$";
my $pid = fork // die;
if (!$pid) {
    open STDOUT, '>', $out or die;
    open STDERR, '>', '/dev/null';
    exec $PY, $PEER, 'whip', "$url/LiveApp/whip/peer1", '--hold', '30';
}

ok(poll_until(sub { (slurp($out) // '') =~ /"state": "connected"/ }, 20),
   'aiortc publishes by WHIP: ICE and DTLS connect');
my ($peer_id) = (slurp($out) // '') =~ m{whip/peer1/([0-9a-f]{32})};
ok($peer_id, 'its session URL');
like($ng->error_log, qr/DTLS connected, SRTP \w+.*$peer_id/,
     'the server logs DTLS connected with an SRTP profile');

kill 'KILL', $pid;
waitpid $pid, 0;
my $t0 = time;
ok(poll_until(sub { $ng->error_log =~ /consent expired.*$peer_id/ }, 10),
   'the peer goes silent: consent expires and the session ends');
cmp_ok(time - $t0, '>=', 1, 'not before its time');
unlink $out;

# --- each answer names the port of the worker that wrote it ---

my $matched = 0;
for my $i (1 .. 6) {
    my $res = post("/LiveApp/whip/port$i", $offer);
    my $a = answer_of($res);
    next unless $a->{id};
    my ($logged) = $ng->error_log
        =~ /on port (\d+), DTLS \w+, webrtc \w+ session $a->{id}/;
    $matched++ if defined $logged && $logged == $a->{port};
}
is($matched, 6, 'every answer advertises the port of its own worker');

is($ng->crashes, '', 'no worker crashed');

done_testing();
