# "nginx -s reload" while publishing: the old worker keeps the publisher,
# the bus zone survives, HLS keeps advancing, players on the new workers
# find the stream, and its broadcast record stays "broadcasting".

use strict;
use warnings;

use Test::More;
use Ams::Nginx;
use Ams::Media;
use Ams::Rest;

my $ng = Ams::Nginx->new(workers => 2)->start;
my $port = $ng->rtmp_port;
my $dir = $ng->media . '/LiveApp/streams';

my $pub = publish("rtmp://127.0.0.1:$port/LiveApp/live", seconds => 14);
ok(poll_until(sub { -s "$dir/live.m3u8" }, 15), 'HLS is being written');

my @old = sort $ng->worker_pids;
$ng->reload;
ok(poll_until(sub {
    my %old = map { $_ => 1 } @old;
    my @new = grep { !$old{$_} } $ng->worker_pids;
    @new >= 2;
}, 15), 'new workers started');

my ($segs) = playlist_segments(slurp("$dir/live.m3u8"));
my $last = @$segs ? $segs->[-1][1] : '';

ok(poll_until(sub {
    my ($s) = playlist_segments(slurp("$dir/live.m3u8"));
    @$s && $s->[-1][1] ne $last;
}, 15), 'HLS keeps advancing after the reload');

my ($st, $doc) = rest($ng, 'GET', '/LiveApp/rest/v2/broadcasts/live');
is($doc && $doc->{status}, 'broadcasting',
   'the record is still broadcasting (a reload is not a cold start)');

my $probe = ffprobe("rtmp://127.0.0.1:$port/LiveApp/live", '-rw_timeout', '5000000');
my ($v) = av_streams($probe);
is($v && "$v->{width}x$v->{height}", '1280x720',
   'a player served by a new worker gets the stream');

is(wait_publisher($pub, 40), 0, 'the publisher was never cut');

my ($all, $ended) = playlist_segments(wait_closed("$dir/live.m3u8"));
ok($ended, 'its playlist ends normally');
my $dur = 0;
$dur += $_->[0] for @$all;
ok(abs($dur - 14) <= 1.4, "the playlist covers the whole $dur s");

ok(poll_until(sub { my %old = map { $_ => 1 } @old;
                    !grep { $old{$_} } $ng->worker_pids }, 15),
   'old workers exit once their publisher is gone');


is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
