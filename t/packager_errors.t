# What goes wrong in the packager is said plainly and stays local: a
# configuration error names the directive at fault, and a malformed H.264
# frame is dropped with a log line while the stream goes on packaging.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep);
use Ams::Nginx;
use Ams::Media;
use Ams::Rtmp;

# --- configuration errors name their directive ------------------------------

for my $case ([ 'hls_list_size  0', 'hls_list_size', 'must be at least 1' ],
              [ 'hls_time       10ms', 'hls_time', 'must be at least 100ms' ])
{
    my ($line, $directive, $says) = @$case;
    my $bad = Ams::Nginx->new(applications => <<"EOF2");
application LiveApp {
    $line;
    delete_hls_files_on_ended  on;
    dash                       off;
}
EOF2
    my ($ok, $out) = $bad->try_start;
    ok(!$ok, "\"$line\" is refused");
    my ($at) = $out =~ /"\Q$directive\E" \Q$says\E in \S+:(\d+)/;
    ok($at, "saying \"$directive\" $says") or diag($out);
    my @conf = split /\n/, slurp($bad->prefix . '/nginx.conf');
    like($conf[($at // 1) - 1], qr/^\s*\Q$directive\E\s/,
         'on the line of that directive');
}

# --- a malformed AVCC frame ---------------------------------------------------

my $ng = Ams::Nginx->new(applications => <<'EOF2')->start;
application LiveApp {
    hls_time  1s;
    dash      on;
}
EOF2
my $dir = $ng->media . '/LiveApp/streams';

# 6 s of H.264 in FLV, made by ffmpeg; its tags are sent as RTMP messages
my $flv = $ng->prefix . '/in.flv';
system('ffmpeg', '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i',
       'testsrc2=size=320x240:rate=25', '-t', 6, '-c:v', 'libx264',
       '-preset', 'ultrafast', '-g', 25, '-pix_fmt', 'yuv420p', '-an',
       '-f', 'flv', $flv) == 0 or BAIL_OUT('ffmpeg cannot make an FLV');
my $data = slurp($flv);
my @tags;
for (my $off = 13; $off + 11 <= length $data; ) {
    my ($type, $size, $ts, $ext) = unpack('C a3 a3 C', substr($data, $off, 8));
    $size = unpack('N', "\0$size");
    $ts = unpack('N', "\0$ts") | ($ext << 24);
    push @tags, [ $type, $ts, substr($data, $off + 11, $size) ] if $type == 9;
    $off += 11 + $size + 4;
}
ok(@tags > 100, scalar(@tags) . ' video tags to send');

my $c = Ams::Rtmp->new($ng->rtmp_port);
$c->handshake->connect_app('LiveApp');
$c->command(Ams::Rtmp::amf_string('createStream'), Ams::Rtmp::amf_number(2),
            Ams::Rtmp::amf_null);
$c->message(type => 20, msid => 1, chunk => 4096,
            payload => Ams::Rtmp::amf_string('publish')
                . Ams::Rtmp::amf_number(0) . Ams::Rtmp::amf_null
                . Ams::Rtmp::amf_string('bad1') . Ams::Rtmp::amf_string('live'));
like($c->read_for(2), qr/NetStream\.Publish\.Start/, 'a raw publisher');

my $sent = 0;
for my $i (0 .. $#tags) {
    my ($type, $ts, $payload) = @{ $tags[$i] };
    $c->message(type => 9, csid => 6, msid => 1, ts => $ts, chunk => 4096,
                payload => $payload);
    if ($i == 60) {
        # an inter frame whose NAL unit claims more bytes than it has
        $c->message(type => 9, csid => 6, msid => 1, ts => $ts + 1,
                    chunk => 4096,
                    payload => "\x27\x01\0\0\0" . pack('N', 0x7fff) . 'abc');
    }
    sleep 0.01;
    $sent++;
}
ok($sent == @tags, 'all frames sent, one malformed among them');
ok(poll_until(sub {
       $ng->error_log =~ /"bad1": 1 malformed video frames dropped so far, the last: malformed AVCC frame/
   }, 10), 'the malformed frame is dropped with a log line')
    or diag(substr($ng->error_log, -1500));
ok(poll_until(sub { -e "$dir/bad1000000004.ts" && -e "$dir/bad1/video_4.m4s" },
              10), 'segments after it are still written, TS and fMP4');
unlike($ng->error_log, qr/"bad1" stopped/, 'the packager never stopped');

close $c->{sock};
my ($segs, $ended) = playlist_segments(wait_closed("$dir/bad1.m3u8"));
ok($ended && @$segs >= 5, 'the stream ends with a closed playlist of '
   . scalar(@$segs) . ' segments');

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
