package Ams::Media;

# Real peers for the end-to-end scenarios: ffmpeg publishing synthetic
# audio and video, ffprobe reading what a viewer would, and polling with a
# deadline instead of sleeping.

use strict;
use warnings;

use Exporter 'import';
use JSON::PP;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

our @EXPORT = qw(publish wait_publisher poll_until ffprobe av_streams slurp
                 playlist_segments video_span wait_closed);

# Publishes testsrc2 + sine to $url in the background; returns the pid.
# Options: seconds (default 6), size (1280x720), rate (30), format (flv),
# vcodec (libx264), extra (array ref of more output options), log (file),
# video (a lavfi graph for the picture instead of testsrc2), audio (0: none).
sub publish {
    my ($url, %o) = @_;
    my $seconds = $o{seconds} // 6;
    my $size = $o{size} // '1280x720';
    my $rate = $o{rate} // 30;
    my @vcodec = $o{vcodec} ? ('-c:v', $o{vcodec})
        : ('-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency',
           '-g', $rate * 2, '-keyint_min', $rate * 2, '-sc_threshold', 0);

    my @audio = ($o{audio} // 1)
        ? ('-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100') : ();
    my @acodec = @audio ? ('-c:a', 'aac', '-b:a', '64k') : ('-an');

    my @cmd = ('ffmpeg', '-hide_banner', '-nostdin', '-loglevel', 'error',
               '-re', '-f', 'lavfi', '-i', $o{video} // "testsrc2=size=$size:rate=$rate",
               @audio, '-t', $seconds, @vcodec, '-pix_fmt', 'yuv420p',
               @acodec, @{ $o{extra} // [] },
               '-f', $o{format} // 'flv', $url);

    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        if ($o{log}) {
            open STDERR, '>', $o{log};
        }
        open STDOUT, '>', '/dev/null';
        exec @cmd or exit 127;
    }
    return $pid;
}

# Waits for a background publisher; returns its exit status.
sub wait_publisher {
    my ($pid, $timeout) = @_;
    my $deadline = time + ($timeout // 60);
    while (time < $deadline) {
        my $r = waitpid $pid, WNOHANG;
        return $? >> 8 if $r == $pid;
        sleep 0.1;
    }
    kill 'KILL', $pid;
    waitpid $pid, 0;
    return -1;
}

# Polls $check until it returns true or $timeout seconds pass.
sub poll_until {
    my ($check, $timeout) = @_;
    my $deadline = time + ($timeout // 15);
    while (time < $deadline) {
        my $v = $check->();
        return $v if $v;
        sleep 0.1;
    }
    return;
}

# ffprobe's view of a URL or file: { streams => [...], format => {...} }
sub ffprobe {
    my ($url, @extra) = @_;
    my $out = `ffprobe -v error -show_format -show_streams -of json @extra '$url' 2>/dev/null`;
    return eval { decode_json($out) } || {};
}

# After a publisher stops, the packager closes its playlist (ENDLIST) or
# MPD (type="static") in a thread a moment later: wait for that, up to
# $timeout seconds, and return the file's text.
sub wait_closed {
    my ($file, $timeout) = @_;
    my $text = '';
    poll_until(sub {
        $text = slurp($file) // '';
        $text =~ /#EXT-X-ENDLIST|type="static"/;
    }, $timeout // 5);
    return $text;
}

# The first video and the first audio stream of an ffprobe result.
sub av_streams {
    my ($probe) = @_;
    my @s = @{ $probe->{streams} || [] };
    my ($v) = grep { $_->{codec_type} eq 'video' } @s;
    my ($a) = grep { $_->{codec_type} eq 'audio' } @s;
    return ($v, $a);
}

# Seconds of video ffprobe finds in a URL, from its packets: last pts plus
# its duration minus the first pts.  (ffmpeg's DASH demuxer reports the
# presentation duration in whole seconds, too coarse to check against.)
sub video_span {
    my ($url) = @_;
    my @pts;
    my $dur = 0;
    for (`ffprobe -v error -select_streams v:0 -show_entries packet=pts_time,duration_time -of csv=p=0 '$url' 2>/dev/null`) {
        my ($pts, $d) = split /,/;
        next unless defined $pts && $pts =~ /^[\d.]+$/;
        push @pts, $pts;
        $dur = $d if defined $d && $d =~ /^[\d.]+$/;
    }
    return 0 unless @pts;
    my ($min, $max) = (sort { $a <=> $b } @pts)[0, -1];
    return $max + $dur - $min;
}

sub slurp {
    my ($file) = @_;
    open my $fh, '<', $file or return;
    local $/;
    my $data = <$fh>;
    close $fh;
    return $data;
}

# [ [duration, uri], ... ] and whether the playlist has ended
sub playlist_segments {
    my ($text) = @_;
    my @segs;
    my $dur;
    for my $line (split /\n/, $text // '') {
        if ($line =~ /^#EXTINF:([\d.]+)/) {
            $dur = $1;
        } elsif ($line !~ /^#/ && length $line && defined $dur) {
            push @segs, [$dur, $line];
            undef $dur;
        }
    }
    return (\@segs, ($text // '') =~ /#EXT-X-ENDLIST/ ? 1 : 0);
}

1;
