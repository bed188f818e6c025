package Ams::WebRTC;

# WebRTC peers for the end-to-end tests: a test nginx with the WebRTC
# module (a free UDP port range, the WHIP/WHEP location, the test pages
# under /www/), WHIP and WHEP clients run in the background (headless
# Chromium through t/browser/webrtc.js on t/browser/whip.html and
# whep.html; aiortc through t/webrtc/whip_client.py and whep_client.py)
# whose state a test polls from a status file, and the raw pieces the
# signalling and bad-input tests send: HTTP requests with curl, SDP
# offers, STUN Binding requests.

use strict;
use warnings;

use Exporter 'import';
use Compress::Zlib qw(crc32);
use Digest::SHA qw(hmac_sha1);
use File::Temp qw(tempdir);
use File::Copy qw(copy);
use File::Path qw(make_path);
use FindBin;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);
use Ams::Nginx;
use Ams::Media qw(slurp);

our @EXPORT = qw(webrtc_missing aiortc_missing webrtc_nginx page_url
                 chromium_start aiortc_start client_status client_poll
                 client_wait client_stop client_done http_request
                 sdp_offer sdp_attr sdp_port stun_request stun_parse
                 free_udp_base transform_publisher);

my $browser = "$FindBin::Bin/browser";
my $clients = "$FindBin::Bin/webrtc";
my $python = '/usr/bin/python3';       # Debian's, with python3-aiortc
my $tmp = tempdir('ams-webrtc-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $json = JSON::PP->new->utf8->canonical;

# --- what a test needs ------------------------------------------------------

# why the Chromium parts cannot run here, or undef
sub webrtc_missing {
    # CI's AddressSanitizer pass: aiortc's parts still run there
    return 'AMS_NO_BROWSER is set' if $ENV{AMS_NO_BROWSER};
    return 'needs chromium and npm packages (./build.sh test installs them)'
        unless -x '/usr/bin/chromium'
               && -d "$browser/node_modules/playwright-core";
    my ($node) = `node --version 2>/dev/null` =~ /^v(\d+)/;
    return 'playwright-core needs Node.js 20 or later'
        unless $node && $node >= 20;
    return undef;
}

# why the aiortc clients cannot run here, or undef
sub aiortc_missing {
    system($python, '-c', 'import aiortc, av, numpy') == 0
        or return 'needs python3-aiortc (./build.sh deps_test)';
    return undef;
}

# 1 when the transcoder can publish a WebRTC publisher's stream with AAC
# (the audio transform's publisher mode), so HLS of it has audio
sub transform_publisher {
    my $so = "$ENV{AMS_MODULES}/ngx_ams_transcode_module.so";
    return -e $so
        && `grep -c ngx_ams_audio_transform_start_publisher '$so'` > 0;
}

# --- the server -------------------------------------------------------------

# A base port whose $n UDP ports (one per worker) are free: picked at
# random below the ephemeral range, so clients' sockets do not take them.
sub free_udp_base {
    my ($n) = @_;
    for (1 .. 100) {
        my $base = 20000 + int rand 12000;
        my @s;
        for my $p ($base .. $base + $n - 1) {
            my $s = IO::Socket::INET->new(Proto => 'udp',
                                          LocalAddr => '0.0.0.0',
                                          LocalPort => $p) or last;
            push @s, $s;
        }
        return $base if @s == $n;
    }
    die "no free UDP port range\n";
}

# An Ams::Nginx (not started) with the WebRTC module: its udp_base is
# where the workers' UDP ports begin.  Options: workers (1),
# applications (application {} blocks: LiveApp by default), ams (more
# ams {} directives), config (more server {} lines), cpu_limit,
# memory_limit (100: the suite loads a shared machine), modules.
sub webrtc_nginx {
    my (%o) = @_;
    my $workers = $o{workers} // 1;
    my $base = free_udp_base($workers);
    my $apps = $o{applications} // <<'EOF';
application LiveApp {
    delete_hls_files_on_ended  off;
}
EOF
    my $ams = $o{ams} // '';
    my $cpu = $o{cpu_limit} // 100;
    my $mem = $o{memory_limit} // 100;

    my $ng = Ams::Nginx->new(
        workers => $workers,
        modules => $o{modules}
                   // [qw(core ingest packager api transcode webrtc)],
        config => Ams::Nginx::default_server() . <<'EOF' . ($o{config} // ''),
location ~ ^/[^/]+/(whip|whep)/ {
    ams_webrtc  on;
}
location /www/ {
    root  $PREFIX;
}
EOF
        main_config => <<"EOF");
ams {
    storage                \$MEDIA;
    thread_pool            ams;
    bus_zone_size          128m;
    cpu_limit              $cpu;
    memory_limit           $mem;
    webrtc_udp_port_base   $base;
    webrtc_public_address  127.0.0.1;
$ams
$apps
}
EOF
    $ng->{udp_base} = $base;

    # debugging a crash: AMS_CORE_DIR=DIR (writable by the workers' user)
    # gets the workers' core dumps
    $ng->{top_config} = "worker_rlimit_core  2g;\n"
                        . "working_directory   $ENV{AMS_CORE_DIR};\n"
        if $ENV{AMS_CORE_DIR};

    my $www = $ng->prefix . '/www';
    make_path($www);
    for my $f (qw(whip.html whep.html webrtc_common.js)) {
        copy("$browser/$f", "$www/$f") or die "$f: $!";
    }
    return $ng;
}

# The URL of a test page (whip or whep) for the endpoint $path
# (/App/whep/id): from the test nginx (/www/, same origin), or with
# from => 'file' from t/browser itself (another origin: the POST is
# preceded by a CORS preflight).  Other options become the query: token,
# gather, width, height, audio.
sub page_url {
    my ($ng, $page, $path, %q) = @_;
    my $http = 'http://127.0.0.1:' . $ng->http_port;
    my $from = delete $q{from} // 'http';
    my $base = $from eq 'file' ? "file://$browser" : "$http/www";
    $q{url} = "$http$path";
    my $query = join '&', map { "$_=" . _escape($q{$_}) } sort keys %q;
    return "$base/$page.html?$query";
}

sub _escape {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9\-._~])/sprintf '%%%02X', ord $1/ge;
    return $s;
}

# --- clients run in the background ------------------------------------------

my @clients;
END {
    local $?;
    for my $c (grep { $_ && !$_->{reaped} } @clients) {
        kill 'KILL', -$c->{pid};
        waitpid $c->{pid}, 0;
    }
}

my $seq = 0;

# runs the command $make->($status_file) in its own process group
sub _spawn {
    my ($name, $make) = @_;
    my $base = "$tmp/" . $name . '_' . ++$seq;
    my $c = { name => $name, status => "$base.json", out => "$base.out",
              err => "$base.err" };
    my $cmd = $c->{cmd} = $make->($c->{status});
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        setpgrp(0, 0);      # its browser or threads go with it
        open STDOUT, '>', $c->{out};
        open STDERR, '>', $c->{err};
        exec @$cmd or POSIX::_exit(127);   # no END blocks: nginx is ours
    }
    $c->{pid} = $pid;
    push @clients, $c;
    return $c;
}

# Headless Chromium on a page (page_url): runs until the page has
# started (until: decoded, sent or connected), then seconds more (0:
# until client_stop), then DELETEs its session.
sub chromium_start {
    my ($url, %o) = @_;
    return _spawn('chromium', sub {
        ['node', "$browser/webrtc.js", $url,
         '--until', $o{until} // 'decoded', '--seconds', $o{seconds} // 3,
         '--timeout', $o{timeout} // 30, '--status', $_[0]];
    });
}

# aiortc: whep (a player: runs seconds once a frame is decoded) or whip
# (a publisher: seconds once connected, 0: until client_stop).  Options:
# seconds, timeout, token, args (more options of the script), script
# (another script of t/webrtc than KIND_client.py).
sub aiortc_start {
    my ($kind, $url, %o) = @_;
    my $script = $o{script} // "${kind}_client";
    return _spawn("aiortc_$kind", sub {
        [$python, "$clients/$script.py", $url,
         '--seconds', $o{seconds} // ($kind eq 'whep' ? 3 : 0),
         '--timeout', $o{timeout} // 30,
         ($o{token} ? ('--token', $o{token}) : ()), @{ $o{args} // [] },
         '--status', $_[0]];
    });
}

# the client's last state (its status file), {} before it wrote one
sub client_status {
    my ($c) = @_;
    my $text = slurp($c->{status}) // return {};
    return eval { $json->decode($text) } // {};
}

# polls the client's state until $check->($state) is true: the state,
# or undef after $timeout seconds or once the client has ended
sub client_poll {
    my ($c, $check, $timeout) = @_;
    my $deadline = time + ($timeout // 20);
    while (time < $deadline) {
        my $s = client_status($c);
        return $s if $check->($s);
        return undef if $s->{done} || client_done($c);
        sleep 0.1;
    }
    return undef;
}

sub client_done {
    my ($c) = @_;
    return 1 if $c->{reaped};
    if (waitpid($c->{pid}, WNOHANG) == $c->{pid}) {
        $c->{reaped} = 1;
        $c->{rc} = $? >> 8;
        return 1;
    }
    return 0;
}

# waits for the client to end (SIGTERM at the deadline, then SIGKILL):
# its result (the JSON line it printed), with its stderr's tail in
# {stderr} when it printed none
sub client_wait {
    my ($c, $timeout) = @_;
    my $deadline = time + ($timeout // 60);
    my $termed = 0;
    until (client_done($c)) {
        if (time > $deadline) {
            if ($termed) {
                kill 'KILL', -$c->{pid};
            } else {
                kill 'TERM', $c->{pid};
                $termed = 1;
                $deadline = time + 15;
                next;
            }
        }
        sleep 0.1;
    }
    my @lines = grep { /^\{/ } split /\n/, slurp($c->{out}) // '';
    my $r = @lines ? eval { $json->decode($lines[-1]) } : undef;
    $r //= { %{ client_status($c) } };
    $r->{errors} //= [];
    unless (@lines) {
        my $err = slurp($c->{err}) // '';
        push @{ $r->{errors} }, "$c->{name} printed no result (rc "
             . ($c->{rc} // '?') . '): ' . substr($err, -1500);
    }
    return $r;
}

# asks the client to end (its DELETE, then its result)
sub client_stop {
    my ($c, $timeout) = @_;
    kill 'TERM', $c->{pid} unless client_done($c);
    return client_wait($c, $timeout // 20);
}

# --- raw requests -----------------------------------------------------------

# The server takes 10 WHIP/WHEP POSTs a second from an address, and
# answers 429 past that: a test's POSTs go at 8 a second at most.
my @posts;

sub _pace {
    @posts = grep { $_ > time - 1 } @posts;
    sleep($posts[0] + 1 - time) if @posts >= 8 && $posts[0] + 1 > time;
    push @posts, time;
}

# An HTTP request with curl: { status, headers => { lower-case name =>
# value, repeated ones joined with ", " }, body }.  Options: body, type
# (Content-Type; '' for none), headers (more header lines), burst (a
# WHIP/WHEP POST sent at once, not paced).
sub http_request {
    my ($ng, $method, $path, %o) = @_;
    _pace() if $method eq 'POST' && $path =~ m{/wh[ie]p/} && !$o{burst};
    my $n = ++$seq;
    my ($hfile, $bfile, $in) = map { "$tmp/http_$n.$_" } qw(head body in);
    my @cmd = ('curl', '-s', '-S', '-X', $method, '--max-time', '15',
               '-D', $hfile, '-o', $bfile, '-w', '%{http_code}');
    if (defined $o{body}) {
        open my $fh, '>', $in or die $!;
        binmode $fh;
        print $fh $o{body};
        close $fh;
        push @cmd, '--data-binary', "\@$in";
    }
    push @cmd, '-H', 'Content-Type: ' . $o{type} if defined $o{type}
                                                    && length $o{type};
    push @cmd, '-H', 'Content-Type:' if defined $o{type} && !length $o{type};
    push @cmd, map { ('-H', $_) } @{ $o{headers} // [] };
    push @cmd, $path =~ m{^https?://} ? $path
               : 'http://127.0.0.1:' . $ng->http_port . $path;

    open my $out, '-|', @cmd or die "curl: $!";
    my $code = do { local $/; <$out> } // '';
    close $out;

    my %h;
    my $head = slurp($hfile) // '';
    # the last response's header (curl writes each of them)
    $head = (split /\r\n\r\n(?=HTTP\/)/, $head)[-1] // '';
    for my $line (split /\r\n/, $head) {
        my ($k, $v) = $line =~ /^([^:\s]+):\s*(.*)$/ or next;
        $k = lc $k;
        $h{$k} = exists $h{$k} ? "$h{$k}, $v" : $v;
    }
    my $body = slurp($bfile) // '';
    unlink $hfile, $bfile, $in;
    return { status => $code =~ /(\d{3})/ ? $1 : 0, headers => \%h,
             body => $body };
}

# --- SDP ----------------------------------------------------------------------

sub _hex { join '', map { sprintf '%02x', int rand 256 } 1 .. $_[0] }
sub _chars {
    my ($n) = @_;
    my @c = ('a' .. 'z', 'A' .. 'Z', '0' .. '9', '+', '/');
    return join '', map { $c[rand @c] } 1 .. $n;
}

# An offer as Chromium writes one (BUNDLE, rtcp-mux, H.264
# packetization-mode 1 and Opus).  Options: direction (recvonly: WHEP;
# sendonly: WHIP, with SSRCs), video/audio (1), ufrag, pwd, fingerprint
# (sha-256, random by default; '' for none), setup (actpass), video_codecs
# (the video m-line's codec lines and payload types, in place of VP8 +
# H.264: [ [pt, 'rtpmap', 'fmtp'] ]), audio_codecs (the same for audio).
# sdp_attr() reads the ufrag and pwd back.
sub sdp_offer {
    my (%o) = @_;
    my $dir = $o{direction} // 'recvonly';
    my $ufrag = $o{ufrag} // _chars(4);
    my $pwd = $o{pwd} // _chars(24);
    my $fp = $o{fingerprint}
        // join ':', map { sprintf '%02X', int rand 256 } 1 .. 32;
    my $setup = $o{setup} // 'actpass';
    my $video = $o{video} // 1;
    my $audio = $o{audio} // 1;
    my $cname = _chars(16);

    my $vcodecs = $o{video_codecs} // [
        [96, 'VP8/90000', undef],
        [97, 'rtx/90000', 'apt=96'],
        [102, 'H264/90000', 'level-asymmetry-allowed=1;'
                            . 'packetization-mode=1;profile-level-id=42e01f'],
        [103, 'rtx/90000', 'apt=102'],
        [104, 'H264/90000', 'level-asymmetry-allowed=1;'
                            . 'packetization-mode=0;profile-level-id=42e01f'],
    ];
    my $acodecs = $o{audio_codecs} // [
        [111, 'opus/48000/2', 'minptime=10;useinbandfec=1'],
        [0, 'PCMU/8000', undef],
    ];

    my @mids = ((($video ? ('0') : ()), ($audio ? ($video ? '1' : '0') : ())));
    my @l = ('v=0', 'o=- ' . (1000000 + int rand 1e9) . ' 2 IN IP4 127.0.0.1',
             's=-', 't=0 0', 'a=group:BUNDLE ' . join(' ', @mids),
             'a=extmap-allow-mixed', 'a=msid-semantic: WMS ams');

    my $m = sub {
        my ($kind, $mid, $codecs, $ssrcs) = @_;
        my @pts = map { $_->[0] } @$codecs;
        push @l, "m=$kind 9 UDP/TLS/RTP/SAVPF @pts", 'c=IN IP4 0.0.0.0',
            'a=rtcp:9 IN IP4 0.0.0.0', "a=ice-ufrag:$ufrag",
            "a=ice-pwd:$pwd", 'a=ice-options:trickle',
            (length $fp ? ("a=fingerprint:sha-256 $fp") : ()),
            "a=setup:$setup", "a=mid:$mid",
            'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
            "a=$dir", 'a=rtcp-mux';
        push @l, 'a=rtcp-rsize' if $kind eq 'video';
        if ($dir eq 'sendonly' || $dir eq 'sendrecv') {
            push @l, "a=msid:ams $kind$mid";
            push @l, "a=ssrc-group:FID @$ssrcs" if @$ssrcs > 1;
            push @l, map { "a=ssrc:$_ cname:$cname" } @$ssrcs;
        }
        for my $c (@$codecs) {
            my ($pt, $map, $fmtp) = @$c;
            push @l, "a=rtpmap:$pt $map";
            if ($kind eq 'video' && $map !~ /^rtx/) {
                push @l, map { "a=rtcp-fb:$pt $_" }
                    'goog-remb', 'transport-cc', 'ccm fir', 'nack',
                    'nack pli';
            }
            push @l, "a=rtcp-fb:$pt transport-cc"
                if $kind eq 'audio' && $map =~ /opus/;
            push @l, "a=fmtp:$pt $fmtp" if defined $fmtp;
        }
    };

    $m->('video', '0', $vcodecs, [map { 1e6 + int rand 4e9 } 1 .. 2])
        if $video;
    $m->('audio', $video ? '1' : '0', $acodecs, [1e6 + int rand 4e9])
        if $audio;

    return join("\r\n", @l) . "\r\n";
}

# the first value of a=$name: in an SDP
sub sdp_attr {
    my ($sdp, $name) = @_;
    my ($v) = ($sdp // '') =~ /^a=\Q$name\E:([^\r\n]*)/m;
    return $v;
}

# the port of the answer's first UDP candidate (the worker's port)
sub sdp_port {
    my ($sdp) = @_;
    my ($port) = ($sdp // '')
        =~ /^a=candidate:\S+ 1 udp \d+ \S+ (\d+) typ host/mi;
    return $port;
}

# --- STUN (RFC 8489) ----------------------------------------------------------

use constant {
    STUN_COOKIE    => 0x2112A442,
    A_USERNAME     => 0x0006,
    A_INTEGRITY    => 0x0008,
    A_ERROR_CODE   => 0x0009,
    A_XOR_MAPPED   => 0x0020,
    A_PRIORITY     => 0x0024,
    A_USE_CAND     => 0x0025,
    A_FINGERPRINT  => 0x8028,
    A_CONTROLLING  => 0x802A,
};

# A Binding request.  Options: username ("theirs:ours"), key (the
# password for MESSAGE-INTEGRITY; none without), bad_integrity (the
# HMAC's bytes flipped), use_candidate, priority (1: a default),
# fingerprint (1), txid (12 bytes).  Returns (bytes, txid).
sub stun_request {
    my (%o) = @_;
    my $txid = $o{txid} // pack('H*', _hex(12));
    my $attrs = '';
    my $attr = sub {
        my ($type, $value) = @_;
        my $pad = (4 - length($value) % 4) % 4;
        $attrs .= pack('nn', $type, length $value) . $value . ("\0" x $pad);
    };
    $attr->(A_USERNAME, $o{username}) if defined $o{username};
    $attr->(A_PRIORITY, pack('N', 0x6e001eff)) if $o{priority} // 1;
    $attr->(A_CONTROLLING, pack('H*', _hex(8))) if $o{controlling} // 1;
    $attr->(A_USE_CAND, '') if $o{use_candidate};

    my $head = sub {
        my ($extra) = @_;
        return pack('nnN', 0x0001, length($attrs) + $extra, STUN_COOKIE)
               . $txid;
    };
    if (defined $o{key}) {
        my $mac = hmac_sha1($head->(24) . $attrs, $o{key});
        $mac = ~$mac if $o{bad_integrity};
        $attr->(A_INTEGRITY, $mac);
    }
    if ($o{fingerprint} // 1) {
        my $crc = crc32($head->(8) . $attrs) ^ 0x5354554e;
        $attr->(A_FINGERPRINT, pack('N', $crc));
    }
    return ($head->(0) . $attrs, $txid);
}

# A STUN message: { class (request, indication, success, error), method,
# txid, error (the ERROR-CODE's number), attrs => { type => value } },
# or undef when it is not one
sub stun_parse {
    my ($data) = @_;
    return undef if length $data < 20;
    my ($type, $len, $cookie) = unpack('nnN', $data);
    return undef if $type & 0xC000 || $cookie != STUN_COOKIE
                    || $len + 20 != length $data;
    my $cls = (($type >> 7) & 2) | (($type >> 4) & 1);
    my %m = (class => (qw(request indication success error))[$cls],
             method => ($type & 0x000F) | (($type >> 1) & 0x0070)
                       | (($type >> 2) & 0x0F80),
             txid => substr($data, 8, 12), attrs => {});
    my $p = 20;
    while ($p + 4 <= length $data) {
        my ($t, $l) = unpack('nn', substr($data, $p, 4));
        $m{attrs}{$t} = substr($data, $p + 4, $l);
        $p += 4 + $l + (4 - $l % 4) % 4;
    }
    if (defined(my $e = $m{attrs}{+A_ERROR_CODE})) {
        my ($class, $num) = unpack('x2CC', $e);
        $m{error} = ($class & 7) * 100 + $num;
    }
    return \%m;
}

1;
