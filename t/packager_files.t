# The CMAF writer's files as players read them: the unit binary writes a
# 4 s stream (HLS master and media playlists, DASH MPD, per-track init
# segments and fragments) without nginx; ffprobe and ffmpeg read it back.
# The playlists are checked line by line, the MPDs (these and the golden
# ones of t/unit/golden/) parsed as XML.

use strict;
use warnings;

use Test::More;
use File::Temp qw(tempdir);
use FindBin;
use JSON::PP;

my $unit = $ENV{AMS_UNIT} or plan skip_all => 'AMS_UNIT not set (./build.sh test)';
plan skip_all => "no $unit/test_packager" unless -x "$unit/test_packager";

my $dir = tempdir(CLEANUP => 1);
is(system("$unit/test_packager", '--write', $dir), 0, 'the stream is written');

sub slurp {
    my ($file) = @_;
    open my $fh, '<', $file or return '';
    local $/;
    return scalar <$fh>;
}

sub probe {
    my ($url) = @_;
    my $json = `ffprobe -v error -count_packets -show_streams -show_format -of json '$url' 2>/dev/null`;
    my $r = eval { decode_json($json) } || {};
    my %s = map { $_->{codec_type} => $_ } @{ $r->{streams} || [] };
    return ($s{video}, $s{audio}, $r->{format});
}

# an M3U8, line by line: tags, and URIs of files that exist
sub check_m3u8 {
    my ($file, $base) = @_;
    my @lines = split /\n/, slurp($file);
    my @bad;
    my ($target, $inf, @uris);

    push @bad, 'no #EXTM3U first' unless @lines && $lines[0] eq '#EXTM3U';
    for my $l (@lines[1 .. $#lines]) {
        if ($l =~ /^#EXT-X-TARGETDURATION:(\d+)$/) { $target = $1 }
        elsif ($l =~ /^#EXTINF:(\d+\.\d{3}),$/) {
            push @bad, "EXTINF $1 above the target"
                if defined $target && int($1 + 0.5) > $target;
            $inf = 1;
        }
        elsif ($l =~ /^#EXT-X-(?:VERSION|MEDIA-SEQUENCE):\d+$/
               || $l =~ /^#EXT-X-(?:ENDLIST|INDEPENDENT-SEGMENTS)$/
               || $l =~ /^#EXT-X-PROGRAM-DATE-TIME:[\dT:.-]+Z$/
               || $l =~ /^#EXT-X-(?:MAP|MEDIA|STREAM-INF):\S+$/) {
            push @uris, $1 if $l =~ /URI="([^"]+)"/;
            $inf = 1 if $l =~ /^#EXT-X-STREAM-INF/;
        }
        elsif ($l =~ /^[^#\s]\S*$/) {
            push @bad, "URI $l without EXTINF/STREAM-INF" unless $inf;
            push @uris, $l;
            $inf = 0;
        }
        else { push @bad, "line '$l'" }
    }
    if (defined $base) {
        -e "$base/$_" or push @bad, "$_ is missing" for @uris;
    }
    return join '; ', @bad;
}

my $py = system('python3 -c "import xml.etree.ElementTree" 2>/dev/null') == 0;

# an MPD with xml.etree: [type, [[id, timescale, startNumber, [[t, d]...]]...]]
sub parse_mpd {
    my ($file) = @_;
    my $script = <<'PY';
import json, sys, xml.etree.ElementTree as ET
ns = {'m': 'urn:mpeg:dash:schema:mpd:2011'}
root = ET.parse(sys.argv[1]).getroot()
reps = []
for r in root.iterfind('m:Period/m:AdaptationSet/m:Representation', ns):
    st = r.find('m:SegmentTemplate', ns)
    s = [[int(x.get('t')), int(x.get('d'))]
         for x in st.iterfind('m:SegmentTimeline/m:S', ns)]
    reps.append([r.get('id'), int(st.get('timescale')),
                 int(st.get('startNumber')), st.get('media'),
                 st.get('initialization'), s])
print(json.dumps([root.get('type'), reps]))
PY
    open my $ph, '-|', 'python3', '-c', $script, $file or return [ 'error', [] ];
    my $out = do { local $/; <$ph> } // '';
    close $ph;
    return eval { decode_json($out) } || [ "error: $out", [] ];
}

# --- HLS -------------------------------------------------------------------

is(check_m3u8("$dir/golden.m3u8", $dir), '', 'master playlist is well formed');
is(check_m3u8("$dir/golden/video.m3u8", "$dir/golden"), '',
   'video playlist is well formed, its files exist');
is(check_m3u8("$dir/golden/audio.m3u8", "$dir/golden"), '',
   'audio playlist is well formed, its files exist');

my ($v, $a, $f) = probe("$dir/golden.m3u8");
is($v && $v->{codec_name}, 'h264', 'HLS: ffprobe finds H.264');
is($v && "$v->{width}x$v->{height}", '160x96', 'at 160x96');
is($v && $v->{nb_read_packets}, 120, 'all 120 video frames');
is($a && $a->{codec_name}, 'aac', 'and AAC from the audio rendition');
ok($a && $a->{nb_read_packets} >= 172, "all audio frames ($a->{nb_read_packets})");
ok($f && abs($f->{duration} - 4) < 0.1, "lasting 4 s ($f->{duration})");
is(`ffmpeg -v error -i '$dir/golden.m3u8' -f null - 2>&1`, '',
   'ffmpeg decodes the HLS without an error');

# --- DASH ------------------------------------------------------------------

($v, $a, $f) = probe("$dir/golden/golden.mpd");
is($v && $v->{codec_name}, 'h264', 'DASH: ffprobe finds H.264');
is($v && $v->{nb_read_packets}, 120, 'all 120 video frames');
is($a && $a->{codec_name}, 'aac', 'and AAC');
is(`ffmpeg -v error -i '$dir/golden/golden.mpd' -f null - 2>&1`, '',
   'ffmpeg decodes the DASH without an error');

SKIP: {
    skip 'needs python3', 7 unless $py;

    my ($type, $reps) = @{ parse_mpd("$dir/golden/golden.mpd") };
    is($type, 'static', 'the MPD parses as XML, static once ended');
    is(scalar @$reps, 2, 'a representation per track');
    my %r = map { $_->[0] => $_ } @$reps;
    my @missing;
    for my $rep (values %r) {
        my ($id, $ts, $start, $media, $init, $s) = @$rep;
        push @missing, $init unless -e "$dir/golden/$init";
        for my $i (0 .. $#$s) {
            (my $file = $media) =~ s/\$Number\$/$start + $i/e;
            push @missing, $file unless -e "$dir/golden/$file";
        }
    }
    is("@missing", '', 'every segment it names exists');

    my ($gap) = (0);
    for my $rep (values %r) {
        my $s = $rep->[5];
        for my $i (1 .. $#$s) {
            $gap++ if $s->[$i][0] != $s->[$i - 1][0] + $s->[$i - 1][1];
        }
    }
    is($gap, 0, 'the timelines have no gaps');
    my $vs = $r{video}[5];
    ok(abs(($vs->[-1][0] + $vs->[-1][1] - $vs->[0][0]) / $r{video}[1] - 4)
       < 0.1, 'video timeline spans 4 s');

    for my $golden (qw(live.mpd ended.mpd)) {
        my ($gtype, $greps) = @{ parse_mpd("$FindBin::Bin/unit/golden/$golden") };
        ok($gtype =~ /^(static|dynamic)$/ && @$greps == 2
           && @{ $greps->[0][5] } == 2, "golden $golden parses as XML");
    }
}

# --- the golden playlists --------------------------------------------------

for my $golden (qw(ts_live.m3u8 audio_ended.m3u8 master.m3u8
                   master_audio.m3u8 master_video.m3u8))
{
    is(check_m3u8("$FindBin::Bin/unit/golden/$golden"), '',
       "golden $golden is well formed");
}

done_testing();
