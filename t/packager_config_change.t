# A codec configuration change mid-stream is a discontinuity, not
# garbage: a crafted RTMP publisher sends 320x240 H.264 and then, without
# reconnecting, a new sequence header and 240x120 frames.  MPEG-TS HLS
# ends the segment at the change and marks the next with
# EXT-X-DISCONTINUITY (its IDR led by the new SPS/PPS); fMP4 HLS does the
# same with a new EXT-X-MAP (video_init_1.mp4: a new name, so a player
# that cached the old init never mixes them); the transcoder's rung,
# re-opened at the new size, gets the same marks.  ffprobe decodes each
# whole playlist (fMP4: each map's run of segments after its init, as a
# player reads them), both sizes, without an error.

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
application TsApp {
    delete_hls_files_on_ended  off;
    hls_time                   1s;
    hls_list_size              100;
    encoder_settings  '[{"height":120,"videoBitrate":150000,"forceEncode":true}]';
    encoder_preset             ultrafast;
}
application FmpApp {
    delete_hls_files_on_ended  off;
    hls_segment_type           fmp4;
    dash                       on;
    hls_time                   1s;
    hls_list_size              100;
    encoder_settings  '[{"height":120,"videoBitrate":150000,"forceEncode":true}]';
    encoder_preset             ultrafast;
}
EOF

my $port = $ng->rtmp_port;
my $media = $ng->media;

# the two sizes, a keyframe a second
my %flv;
for my $size (qw(320x240 240x120)) {
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
            if $type == 9;
        $off += 11 + $size + 4;
    }
    return \@tags;
}

# one publisher per application, fed the same tags
my @c;
for my $app (qw(TsApp FmpApp)) {
    my $c = Ams::Rtmp->new($port);
    $c->handshake->connect_app($app);
    $c->command(Ams::Rtmp::amf_string('createStream'),
                Ams::Rtmp::amf_number(2), Ams::Rtmp::amf_null);
    $c->message(type => 20, msid => 1, chunk => 4096,
                payload => Ams::Rtmp::amf_string('publish')
                    . Ams::Rtmp::amf_number(0) . Ams::Rtmp::amf_null
                    . Ams::Rtmp::amf_string('cc')
                    . Ams::Rtmp::amf_string('live'));
    $c->read_for(0.3);
    push @c, $c;
}

sub send_tag {
    my ($ts, $data) = @_;
    $_->message(type => 9, csid => 6, msid => 1, ts => $ts,
                payload => $data, chunk => 4096) for @c;
}

# a source's sequence header, then its frames at +$shift ms, real time
my $clock = 0;
sub send_source {
    my ($tags, $shift) = @_;
    my ($h) = grep { substr($_->[2], 1, 1) eq "\0" } @$tags;
    send_tag($shift, $h->[2]);
    my @v = grep { substr($_->[2], 1, 1) ne "\0" } @$tags;
    my $start = time;
    for my $i (0 .. $#v) {
        send_tag($v[$i][1] + $shift, $v[$i][2]);
        $clock = $v[$i][1] + $shift;
        my $due = $start + ($i + 1) / 25;
        sleep($due - time) if $due > time;
    }
}

send_source($flv{'320x240'}, 0);
send_source($flv{'240x120'}, $clock + 40);

for my $c (@c) {
    $c->message(type => 20, msid => 1, chunk => 4096,
                payload => Ams::Rtmp::amf_string('deleteStream')
                    . Ams::Rtmp::amf_number(0) . Ams::Rtmp::amf_null
                    . Ams::Rtmp::amf_number(1));
}
@c = ();

my %pl = (
    'TS original'   => "$media/TsApp/streams/cc.m3u8",
    'TS rung'       => "$media/TsApp/streams/cc_120p150kbps.m3u8",
    'fMP4 original' => "$media/FmpApp/streams/cc/video.m3u8",
    'fMP4 rung'     => "$media/FmpApp/streams/cc_120p150kbps/video.m3u8",
);
my %sizes = (
    'TS original'   => [qw(320x240 240x120)],
    'TS rung'       => [qw(160x120 240x120)],
    'fMP4 original' => [qw(320x240 240x120)],
    'fMP4 rung'     => [qw(160x120 240x120)],
);

for my $name (sort keys %pl) {
    my $text = wait_closed($pl{$name}, 20) // '';
    like($text, qr/#EXT-X-ENDLIST/, "$name: the playlist ended");
    my @disc = $text =~ /#EXT-X-DISCONTINUITY\n/g;
    is(scalar @disc, 1, "$name: one EXT-X-DISCONTINUITY");

    if ($name =~ /fMP4/) {
        like($text, qr/\A(?:(?!#EXTINF).)*#EXT-X-MAP:URI="video_init\.mp4"/s,
             "$name: the first segments' map");
        like($text, qr/#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="video_init_1\.mp4"\n(?:#EXT-X-PROGRAM-DATE-TIME:\S+\n)?#EXTINF/,
             "$name: the new configuration's own map after the mark");
        (my $dir = $pl{$name}) =~ s{/[^/]+$}{};
        ok(-s "$dir/video_init.mp4" && -s "$dir/video_init_1.mp4",
           "$name: both init segments are there");
    }

    # every frame decodes, at both sizes: MPEG-TS through ffprobe's HLS
    # demuxer; fMP4 as a player reads it, each map's segments after their
    # own init (ffmpeg's HLS demuxer keeps the first init's avcC across
    # EXT-X-MAP changes: the mov demuxer skips a second moov)
    my @frames;
    if ($name =~ /fMP4/) {
        (my $dir = $pl{$name}) =~ s{/[^/]+$}{};
        my ($map, @runs);
        for my $line (split /\n/, $text) {
            if ($line =~ /^#EXT-X-MAP:URI="([^"]+)"/) {
                push @runs, [$1];
            } elsif ($line =~ /^[^#]\S*\.m4s$/) {
                push @{ $runs[-1] }, $line;
            }
        }
        for my $i (0 .. $#runs) {
            my $file = $ng->prefix . "/run_$i.mp4";
            open my $fh, '>', $file or die $!;
            print $fh slurp("$dir/$_") for @{ $runs[$i] };
            close $fh;
            push @frames, `ffprobe -v error -select_streams v:0 -show_entries frame=width,height -of csv=p=0 '$file' 2>&1`;
        }
    } else {
        @frames = `ffprobe -v error -select_streams v:0 -show_entries frame=width,height -of csv=p=0 '$pl{$name}' 2>&1`;
    }
    chomp @frames;
    @frames = grep { /\S/ } @frames;
    my @errors = grep { !/^\d+,\d+,?$/ } @frames;
    my %seen;
    /^(\d+),(\d+)/ and $seen{"$1x$2"} = 1 for @frames;
    @frames = grep { /^\d+,\d+,?$/ } @frames;
    is_deeply([sort keys %seen], [sort @{ $sizes{$name} }],
              "$name: ffprobe decodes " . scalar(@frames) . ' frames at '
              . join(' and ', @{ $sizes{$name} }));
    is_deeply(\@errors, [], "$name: without an error")
        or diag(join "\n", @errors[0 .. ($#errors > 9 ? 9 : $#errors)]);
}

# the TS segment after the mark starts with the new SPS (240x120)
my $ts = slurp($pl{'TS original'});
my ($after) = $ts =~ /#EXT-X-DISCONTINUITY\n#EXTINF:[\d.]+,\n(\S+)/;
my ($v) = av_streams(ffprobe("$media/TsApp/streams/$after"));
is($v && "$v->{width}x$v->{height}", '240x120',
   "the segment after the mark ($after) is 240x120 on its own");

# DASH: one Period; the MPD names the init segment of the newest
# configuration (see docs/ARCHITECTURE.md)
my $mpd = slurp("$media/FmpApp/streams/cc/cc.mpd") // '';
like($mpd, qr/initialization="video_init_1\.mp4"/,
     'the MPD names the new init segment');

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
