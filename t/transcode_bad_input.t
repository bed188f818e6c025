# Bad input to the transcoder never stops the worker, and another stream's
# rungs keep advancing meanwhile.  A crafted RTMP publisher sends real
# H.264 (from an FLV file made once here) with: frames before any
# sequence header (no SPS), frames cut short (truncated NAL units),
# frames of garbage, timestamps jumping back 3 s and forward 20 s, and a
# new size mid-stream (480x240 after 320x240).  Beside it ffmpeg
# publishes a stream through the noise bitstream filter.  The transcoder
# resynchronises on keyframes: the crafted stream's rung has segments
# after each fault, and the new size's rung is 240x120 (a new avcC).

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use Ams::Nginx;
use Ams::Media;
use Ams::Rtmp;

my $ng = Ams::Nginx->new(
    modules => [qw(core ingest packager api transcode)],
    applications => <<'EOF')->start;
application LiveApp {
    delete_hls_files_on_ended  off;
    hls_time                   1s;
    hls_list_size              100;
    encoder_settings  '[{"height":120,"videoBitrate":150000,"forceEncode":true}]';
    encoder_preset             ultrafast;
}
EOF

my $port = $ng->rtmp_port;
my $dir = $ng->media . '/LiveApp/streams';
my ($worker) = $ng->worker_pids;

# the source for the crafted publisher: two sizes, a keyframe a second
my %flv;
for my $size (qw(320x240 480x240)) {
    my $file = $ng->prefix . "/src_$size.flv";
    system('ffmpeg', '-v', 'error', '-nostdin', '-f', 'lavfi', '-i',
           "testsrc2=size=$size:rate=25", '-t', 4, '-c:v', 'libx264',
           '-preset', 'ultrafast', '-g', 25, '-keyint_min', 25,
           '-sc_threshold', 0, '-pix_fmt', 'yuv420p', '-an', '-f', 'flv',
           $file) == 0 or BAIL_OUT("ffmpeg could not make $file");
    $flv{$size} = read_flv($file);
}

# [type, ts (ms), data] of each tag
sub read_flv {
    my ($file) = @_;
    my $b = slurp($file);
    my $off = 13;
    my @tags;
    while ($off + 11 <= length $b) {
        my ($type, $s1, $s2, $t1, $t2, $tx) =
            unpack 'C C n C n C', substr($b, $off, 8);
        my $size = ($s1 << 16) | $s2;
        my $ts = ($tx << 24) | ($t1 << 16) | $t2;
        push @tags, [$type, $ts, substr($b, $off + 11, $size)]
            if $type == 8 || $type == 9;
        $off += 11 + $size + 4;
    }
    return \@tags;
}

my $good = publish("rtmp://127.0.0.1:$port/LiveApp/good", seconds => 40,
                   size => '320x240', rate => 25);
ok(poll_until(sub { -s "$dir/good_120p150kbps.m3u8" }, 30),
   "the good stream's rung is live");

sub good_segments {
    my ($segs) = playlist_segments(slurp("$dir/good_120p150kbps.m3u8"));
    return scalar @$segs;
}

# noise on the wire: ffmpeg's noise bitstream filter
my $noisy = publish("rtmp://127.0.0.1:$port/LiveApp/noisy", seconds => 8,
                    size => '320x240', rate => 25, audio => 0,
                    extra => ['-bsf:v', 'noise=amount=2000']);

my $before = good_segments();

# the crafted publisher
my $c = Ams::Rtmp->new($port);
$c->handshake->connect_app('LiveApp');
$c->command(Ams::Rtmp::amf_string('createStream'), Ams::Rtmp::amf_number(2),
            Ams::Rtmp::amf_null);
$c->message(type => 20, msid => 1, chunk => 4096,
            payload => Ams::Rtmp::amf_string('publish')
                . Ams::Rtmp::amf_number(0) . Ams::Rtmp::amf_null
                . Ams::Rtmp::amf_string('bad')
                . Ams::Rtmp::amf_string('live'));
$c->read_for(0.5);

my $clock = 0;       # what the stream's timestamps say
my $start = time;

sub send_tag {
    my ($type, $ts, $data) = @_;
    $c->message(type => $type, csid => 6, msid => 1, ts => $ts,
                payload => $data, chunk => 4096);
}

# frames $from..$to of a source (sequence header excluded) at $shift ms,
# paced at real time; $mangle may change a frame's bytes
sub send_frames {
    my ($tags, $from, $to, $shift, $mangle) = @_;
    my @v = grep { $_->[0] == 9 && substr($_->[2], 1, 1) ne "\0" } @$tags;
    for my $i ($from .. $to) {
        my $t = $v[$i] or last;
        my $data = $mangle ? $mangle->($t->[2], $i) : $t->[2];
        send_tag(9, $t->[1] + $shift, $data);
        $clock = $t->[1] + $shift;
        my $due = $start + ($i - $from) / 25;
        sleep($due - time) if $due > time;
    }
    $start = time;
}

sub seq_header {
    my ($tags) = @_;
    my ($h) = grep { $_->[0] == 9 && substr($_->[2], 1, 1) eq "\0" } @$tags;
    return $h->[2];
}

my $small = $flv{'320x240'};
my $wide = $flv{'480x240'};

# no SPS yet: frames before any sequence header
send_frames($small, 0, 24, 0);
send_tag(9, $clock, seq_header($small));
send_frames($small, 25, 49, 0);

# truncated NAL units: each frame cut to half its length
send_frames($small, 50, 74, 0, sub { substr($_[0], 0, 5 + int((length($_[0]) - 5) / 2)) });

# garbage: the payload's bytes scrambled, lengths kept
send_frames($small, 75, 87, 0, sub {
    my ($d) = @_;
    substr($d, 10) = join '', map { chr(($_ * 97 + length $d) & 255) } 10 .. length($d) - 1
        if length $d > 10;
    $d });
send_frames($small, 88, 99, 0);

# timestamps back 3 s, then forward 20 s
send_frames($small, 50, 99, 2000 - 3000);
send_frames($small, 25, 99, 20000);

# a new size mid-stream
my $base = $clock + 40;
send_tag(9, $base, seq_header($wide));
send_frames($wide, 0, 74, $base);

$c->message(type => 20, msid => 1, chunk => 4096,
            payload => Ams::Rtmp::amf_string('deleteStream')
                . Ams::Rtmp::amf_number(0) . Ams::Rtmp::amf_null
                . Ams::Rtmp::amf_number(1));
undef $c;

ok(poll_until(sub { $ng->error_log =~ /ams transcode: "bad" ended: (.*)/ }, 20),
   'the crafted stream ended through the transcoder')
    or diag(substr($ng->error_log, -3000));
my ($summary) = $ng->error_log =~ /ams transcode: "bad" ended: ([^\n]*)/;
diag("bad: $summary") if $summary;
my ($errors) = ($summary // '') =~ /(\d+) decode errors/;
my ($waited) = ($summary // '') =~ /(\d+) waited for a keyframe/;
my ($reopened) = ($summary // '') =~ /(\d+) encoders re-opened/;
ok(($errors // 0) + ($waited // 0) > 0,
   "faults were seen: $errors decode errors, $waited frames waited for a "
   . 'keyframe');
ok(($reopened // 0) >= 2, "encoders re-opened ($reopened): the timeline "
   . 'went back, the size changed');
like($ng->error_log, qr/"bad": source size 320x240 -> 480x240/,
     'the size change is logged');

my $bad = wait_closed("$dir/bad_120p150kbps.m3u8", 20);
my ($bsegs) = playlist_segments($bad);
ok(@$bsegs >= 8, scalar(@$bsegs) . ' segments in the crafted stream\'s rung');

# the last segment is at the new size
my $last = $bsegs->[-1][1];
my ($lv) = av_streams(ffprobe("$dir/$last"));
is($lv && "$lv->{width}x$lv->{height}", '240x120',
   'after the new size the rung is 240x120');

is(wait_publisher($noisy, 30), 0, 'the noisy publisher finished');
ok(poll_until(sub { $ng->error_log =~ /ams transcode: "noisy" ended/ }, 20),
   'the noisy stream ended through the transcoder');
my ($nsum) = $ng->error_log =~ /ams transcode: "noisy" ended: ([^\n]*)/;
diag("noisy: $nsum") if $nsum;
my ($ndec) = ($nsum // '') =~ /^(\d+) frames decoded/;
ok(($ndec // 0) > 50, "noise is concealed and encoded, not a hole ("
   . ($ndec // 0) . ' frames)');

ok(poll_until(sub { good_segments() > $before + 3 }, 20),
   'the good stream\'s rung kept advancing (' . $before . ' -> '
   . good_segments() . ' segments)');
is(join(',', $ng->worker_pids), $worker, 'the same worker throughout');
is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

kill 'TERM', $good;
wait_publisher($good, 10);

done_testing();
