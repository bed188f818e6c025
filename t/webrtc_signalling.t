# WHIP and WHEP signalling as a client sees it, without media: POST
# /{App}/whip/{id} and /{App}/whep/{id} with an offer as Chromium writes
# one answer 201 with an ICE-lite answer (our DTLS role passive, the
# worker's port on the configured public address, H.264
# packetization-mode 1 and Opus), Location /{App}/whip/{id}/{32 hex},
# an ETag and no Link (no ICE server configured); OPTIONS answers the
# CORS preflight; PATCH with a trickle fragment 204; DELETE 200, then
# 404.  Refused: 415 (not application/sdp), 422 (garbage, no
# fingerprint, no ICE credentials, no codec we can use), 404 (WHEP of a
# stream not live, an unknown session), 409 (WHIP of a live stream), a
# WHEP without a play token where the application wants one (401),
# 429 past a burst of POSTs from one address (webrtc_offer_rate), and 503 with
# "highResourceUsage" on a node over its memory limit.

use strict;
use warnings;

use Test::More;
use IO::Socket::INET;
use Ams::Nginx;
use Ams::Media;
use Ams::Rest;
use Ams::WebRTC;

my $ng = webrtc_nginx(applications => <<'EOF')->start;
application LiveApp {
    delete_hls_files_on_ended  off;
}
application Secure {
    play_token_control_enabled  on;
}
EOF

my $base = $ng->{udp_base};
my $rtmp = 'rtmp://127.0.0.1:' . $ng->rtmp_port;

my $pub = publish("$rtmp/LiveApp/live", seconds => 50, size => '320x240');
my $pub2 = publish("$rtmp/Secure/sec", seconds => 50, size => '320x240');
ok(poll_until(sub {
    (rest($ng, 'GET', '/LiveApp/rest/v2/broadcasts/live'))[1]{status}
        // '' eq 'broadcasting'
    && (rest($ng, 'GET', '/Secure/rest/v2/broadcasts/sec'))[1]{status}
        // '' eq 'broadcasting'
}, 20), 'two RTMP streams are live');

sub post {
    my ($path, $sdp, %o) = @_;
    return http_request($ng, 'POST', $path, body => $sdp,
                        type => $o{type} // 'application/sdp',
                        headers => $o{headers});
}

sub codes { join ' or ', @_ }

# --- CORS preflight ---------------------------------------------------------

for my $kind (qw(whip whep)) {
    my $r = http_request($ng, 'OPTIONS', "/LiveApp/$kind/live", headers => [
        'Origin: http://example.com',
        'Access-Control-Request-Method: POST',
        'Access-Control-Request-Headers: content-type,authorization']);
    my $h = $r->{headers};
    like($r->{status}, qr/^20[04]$/, "$kind OPTIONS: $r->{status}");
    is($h->{'access-control-allow-origin'}, '*', "$kind: any origin");
    like($h->{'access-control-allow-methods'} // '', qr/\b$_\b/,
         "$kind: $_ allowed") for qw(POST PATCH DELETE OPTIONS);
    like($h->{'access-control-allow-headers'} // '', qr/\b$_\b/i,
         "$kind: the $_ header allowed")
        for qw(Content-Type Authorization If-Match);
    like($h->{'access-control-expose-headers'} // '', qr/\b$_\b/i,
         "$kind: $_ exposed") for qw(Location ETag Link);
}

# --- refusals ---------------------------------------------------------------

my $offer = sdp_offer(direction => 'recvonly');

for my $type ('text/plain', 'application/json', '') {
    my $r = post('/LiveApp/whep/live', $offer, type => $type);
    is($r->{status}, 415, "Content-Type '$type': 415");
}

my %bad = (
    'garbage' => "this is not SDP\r\n\x00\xff\r\n",
    'an empty body' => '',
    'no fingerprint' => sdp_offer(direction => 'recvonly',
                                  fingerprint => ''),
    'no ICE credentials' => sdp_offer(direction => 'recvonly')
        =~ s/^a=ice-(ufrag|pwd):.*\r\n//mgr,
    'no codec we use' => sdp_offer(
        direction => 'recvonly',
        video_codecs => [[98, 'VP9/90000', 'profile-id=0']],
        audio_codecs => [[9, 'G722/8000', undef]]),
    'only packetization-mode 0' => sdp_offer(
        direction => 'recvonly', audio => 0,
        video_codecs => [[104, 'H264/90000', 'level-asymmetry-allowed=1;'
                          . 'packetization-mode=0;profile-level-id=42e01f']]),
);
for my $what (sort keys %bad) {
    my $r = post('/LiveApp/whep/live', $bad{$what});
    my $want = $what eq 'an empty body' ? qr/^(400|422)$/ : qr/^422$/;
    like($r->{status}, $want, "WHEP with $what: $r->{status}");
    $r = post('/LiveApp/whip/fresh', $bad{$what} =~ s/recvonly/sendonly/gr);
    like($r->{status}, $want, "WHIP with $what: $r->{status}");
}

is(post('/LiveApp/whep/nothing', $offer)->{status}, 404,
   'WHEP of a stream that is not live: 404');
is(post('/LiveApp/whip/live', sdp_offer(direction => 'sendonly'))->{status},
   409, 'WHIP of a stream already live (RTMP): 409');

# --- a WHEP session ---------------------------------------------------------

my $r = post('/LiveApp/whep/live', $offer);
is($r->{status}, 201, 'WHEP of a live stream: 201') or diag(explain $r);
my $loc = $r->{headers}{location} // '';
like($loc, qr{^/LiveApp/whep/live/[0-9a-f]{32}$},
     "Location /{App}/whep/{id}/{32 hex} ($loc)");
like($r->{headers}{'content-type'} // '', qr{^application/sdp},
     'the answer is application/sdp');
ok(length($r->{headers}{etag} // ''), 'an ETag');
ok(!exists $r->{headers}{link}, 'no Link: no ICE server configured');
is($r->{headers}{'access-control-allow-origin'}, '*',
   'CORS on the answer too');
like($r->{headers}{'access-control-expose-headers'} // '', qr/Location/i,
     'with Location exposed');

my $ans = $r->{body};
like($ans, qr/^v=0\r\n/, 'the answer is SDP');
like($ans, qr/^a=ice-lite\r?$/m, 'ICE-lite');
is(sdp_attr($ans, 'setup'), 'passive', 'we are the DTLS server (passive)');
like(sdp_attr($ans, 'fingerprint') // '',
     qr/^sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}$/i, 'a SHA-256 fingerprint');
is(sdp_port($ans), $base, "the candidate is the worker's port ($base)");
like($ans, qr/^a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 $base typ host/m,
     'on the public address');
like($ans, qr{^a=rtpmap:102 H264/90000}m, 'H.264 chosen (the offer\'s 102)');
like($ans, qr{^a=fmtp:102 .*packetization-mode=1}m, 'packetization-mode 1');
unlike($ans, qr{^a=rtpmap:\d+ VP8}m, 'VP8 not chosen');
like($ans, qr{^a=rtpmap:111 opus/48000/2}m, 'Opus chosen');
like($ans, qr/^a=sendonly\r?$/m, 'we send');
ok(length(sdp_attr($ans, 'ice-ufrag') // '') >= 4
   && length(sdp_attr($ans, 'ice-pwd') // '') >= 22, 'ICE credentials');
like($ans, qr/^a=group:BUNDLE 0 1\r?$/m, 'one BUNDLE group');

my $frag = "a=ice-ufrag:" . sdp_attr($offer, 'ice-ufrag') . "\r\n"
         . "a=ice-pwd:" . sdp_attr($offer, 'ice-pwd') . "\r\n"
         . "m=video 9 UDP/TLS/RTP/SAVPF 102\r\na=mid:0\r\n"
         . "a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\n"
         . "a=end-of-candidates\r\n";
is(http_request($ng, 'PATCH', $loc, body => $frag,
                type => 'application/trickle-ice-sdpfrag')->{status},
   204, 'PATCH with a trickle fragment: 204');
is(http_request($ng, 'PATCH', $loc, body => $frag,
                type => 'text/plain')->{status},
   415, 'PATCH of another type: 415');

is(http_request($ng, 'DELETE', $loc)->{status}, 200, 'DELETE: 200');
is(http_request($ng, 'DELETE', $loc)->{status}, 404, 'again: 404');
is(http_request($ng, 'PATCH', $loc, body => $frag,
                type => 'application/trickle-ice-sdpfrag')->{status},
   404, 'PATCH of an ended session: 404');
is(http_request($ng, 'DELETE', '/LiveApp/whep/live/' . ('0' x 32))->{status},
   404, 'DELETE of a session never made: 404');

# --- a WHIP session ---------------------------------------------------------

$r = post('/LiveApp/whip/fresh', sdp_offer(direction => 'sendonly'));
is($r->{status}, 201, 'WHIP of a new stream: 201') or diag(explain $r);
my $wloc = $r->{headers}{location} // '';
like($wloc, qr{^/LiveApp/whip/fresh/[0-9a-f]{32}$},
     "Location /{App}/whip/{id}/{32 hex} ($wloc)");
like($r->{body}, qr/^a=recvonly\r?$/m, 'we receive');
is(sdp_attr($r->{body}, 'setup'), 'passive', 'passive');
isnt((split m{/}, $wloc)[-1], (split m{/}, $loc)[-1],
     'another session, another id');
is(post('/LiveApp/whip/fresh', sdp_offer(direction => 'sendonly'))->{status},
   409, 'a second WHIP of the same stream id: 409');
is(http_request($ng, 'DELETE', $wloc)->{status}, 200, 'DELETE of it: 200');
ok(poll_until(sub {
    post('/LiveApp/whip/fresh', sdp_offer(direction => 'sendonly'))
        ->{status} == 201 }, 5),
   'then the stream id is free again');

# an offer that is passive: we are the DTLS client
$r = post('/LiveApp/whep/live', sdp_offer(direction => 'recvonly',
                                          setup => 'passive'));
is($r->{status}, 201, 'WHEP with a=setup:passive: 201');
is(sdp_attr($r->{body}, 'setup'), 'active', 'and we are active');

# --- tokens -----------------------------------------------------------------

sub token {
    my ($id) = @_;
    my ($st, $doc) = rest($ng, 'GET', "/Secure/rest/v2/broadcasts/$id/token"
                          . '?expireDate=' . (time + 3600) . '&type=play');
    return $st == 200 ? $doc->{tokenId} : undef;
}

# refused as Ant Media refuses ("unauthorized"): 401
$r = post('/Secure/whep/sec', $offer);
is($r->{status}, 401, 'WHEP without a play token: 401');
like($r->{body}, qr/unauthorized/, 'saying unauthorized');
is(post('/Secure/whep/sec?token=nonsense', $offer)->{status}, 401,
   'with a token that is not one: 401');
is(post('/Secure/whep/sec?token=' . (token('live') // ''), $offer)->{status},
   401, "with another stream's token: 401");
my $tok = token('sec');
ok($tok, 'a play token from the REST API');
is(post("/Secure/whep/sec?token=$tok", $offer)->{status}, 201,
   'admitted with ?token=');
$tok = token('sec');
is(post('/Secure/whep/sec', $offer,
        headers => ["Authorization: Bearer $tok"])->{status},
   201, 'admitted with Authorization: Bearer');

# --- rate -------------------------------------------------------------------

# N POSTs from one address, all sent before any is read (each on its own
# connection): their statuses and Retry-After headers
sub burst {
    my ($node, $n) = @_;
    my @socks = map {
        IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $node->http_port)
            or die "connect: $!"
    } 1 .. $n;
    print $_ "POST /LiveApp/whep/live HTTP/1.0\r\nHost: localhost\r\n"
             . "Content-Type: application/sdp\r\nContent-Length: 1\r\n\r\nx"
        for @socks;
    return map {
        my $resp = do { local $/; readline $_ } // '';
        my ($status) = $resp =~ m{^HTTP/\S+ (\d+)};
        my ($retry) = $resp =~ /^Retry-After: *(\S+)/mi;
        +{ status => $status // 0, headers => { 'retry-after' => $retry } };
    } @socks;
}

# more POSTs from one address than its burst (20) and 10 a second: 429
# with Retry-After
my @burst = burst($ng, 40);
my ($limited) = grep { $_->{status} == 429 } @burst;
ok($limited, '40 POSTs at once: some are refused with 429 ('
   . join(' ', map { $_->{status} } @burst) . ')');
ok($limited && $limited->{headers}{'retry-after'}, 'with Retry-After');
ok(poll_until(sub {
    post('/LiveApp/whep/live', $offer)->{status} == 201 }, 5),
   'a second later POSTs are answered again');

kill 'TERM', $pub, $pub2;
wait_publisher($_, 10) for $pub, $pub2;

# --- over the limits --------------------------------------------------------

my $busy = webrtc_nginx(memory_limit => 0,
                        ams => 'webrtc_offer_rate  2r/s burst=3;')->start;
ok(poll_until(sub { $busy->error_log =~ /high resource usage/ }, 15),
   'a node over its memory limit (memory_limit 0)');
$r = http_request($busy, 'POST', '/LiveApp/whip/new', type => 'application/sdp',
                  body => sdp_offer(direction => 'sendonly'));
is($r->{status}, 503, 'refuses a new WHIP session: 503');
like($r->{body}, qr/highResourceUsage/, 'saying highResourceUsage');

# webrtc_offer_rate: a smaller burst there (3, one spent above), and off
my @small = map { $_->{status} } burst($busy, 6);
cmp_ok(scalar(grep { $_ == 429 } @small), '>=', 3,
       "webrtc_offer_rate 2r/s burst=3: 6 POSTs at once, 3 or more 429 (@small)");
like($busy->error_log, qr/faster than 2 a second \(webrtc_offer_rate\)/,
     'with a log line naming the directive');

my $open = webrtc_nginx(ams => 'webrtc_offer_rate  off;')->start;
my @all = map { $_->{status} } burst($open, 40);
is(scalar(grep { $_ == 429 } @all), 0,
   "webrtc_offer_rate off: 40 POSTs at once, none 429 (@all)");

is($ng->crashes, '', 'no worker crashed');
is($busy->crashes, '', 'nor on the busy node');
is($open->crashes, '', 'nor on the unlimited one');

done_testing();
