# A worker that dies (SIGKILL, a crash) must not take the node with it:
# its streams end at once (record, playlist) while streams on the other
# worker go on, and a lock it held in shared memory is taken over, so no
# other worker hangs.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use Ams::Nginx;
use Ams::Media;
use Ams::Rest;

plan skip_all => 'ss (iproute2) is needed' unless `ss -V 2>&1` =~ /iproute/;

my $ng = Ams::Nginx->new(workers => 2)->start;
my $port = $ng->rtmp_port;
my $http = $ng->http_port;
my $dir = $ng->media . '/LiveApp/streams';

# The worker serving the RTMP connection of a local client process: its
# socket is the one whose peer is that client's own port.
sub worker_of {
    my ($client) = @_;
    my $out = `ss -tnpH state established '( sport = :$port or dport = :$port )'`;
    my ($cport) = map { /127\.0\.0\.1:(\d+)\s+127\.0\.0\.1:$port\s.*pid=$client,/ ? $1 : () }
        split /\n/, $out;
    return unless $cport;
    my ($w) = map { /127\.0\.0\.1:$port\s+127\.0\.0\.1:$cport\s.*pid=(\d+),/ ? $1 : () }
        split /\n/, $out;
    return $w;
}

sub status_of {
    my ($id) = @_;
    my ($st, $doc) = rest($ng, 'GET', "/LiveApp/rest/v2/broadcasts/$id");
    return $doc ? $doc->{status} // '' : '';
}

# a publisher of $name on a worker other than $avoid: (ffmpeg pid, worker)
sub publish_away_from {
    my ($name, $avoid) = @_;
    for (1 .. 8) {
        my $pub = publish("rtmp://127.0.0.1:$port/LiveApp/$name",
                          seconds => 120, size => '320x240', rate => 15);
        my $w = poll_until(sub { status_of($name) eq 'broadcasting'
                                 && worker_of($pub) }, 20);
        return ($pub, $w) if $w && (!$avoid || $w != $avoid);
        kill 'KILL', $pub;
        waitpid $pub, 0;
        poll_until(sub { status_of($name) ne 'broadcasting' }, 30);
    }
    return;
}

# created through REST: a record a publish made (a zombi) is deleted
# when its stream ends, rather than marked
my ($made) = rest($ng, 'POST', '/LiveApp/rest/v2/broadcasts/create',
                  body => { streamId => 'victim' });
is($made, 200, 'broadcast victim created');

my ($pub_a, $wa) = publish_away_from('victim');
ok($wa, "stream victim is published by worker $wa");
my ($pub_b, $wb) = publish_away_from('bystander', $wa);
ok($wb, "stream bystander is published by the other worker, $wb");

ok(poll_until(sub { -s "$dir/victim.m3u8" && -s "$dir/bystander.m3u8" }, 20),
   'both streams have playlists');

kill 'KILL', $wa;
my $killed = time;

my $status = poll_until(sub {
    my $s = status_of('victim');
    $s ne 'broadcasting' ? $s : undef }, 10);
my $took = time - $killed;
is($status, 'terminated_unexpectedly',
   'the killed worker\'s stream is recorded as terminated unexpectedly');
ok($took < 3, sprintf('within %.1f s of the kill', $took));

ok(poll_until(sub { (slurp("$dir/victim.m3u8") // '') =~ /#EXT-X-ENDLIST/ }, 5),
   'its playlist is closed with EXT-X-ENDLIST');

like($ng->error_log, qr/ams bus: worker $wa \(slot \d+\) is gone/,
     'the log says which worker died');

is(status_of('bystander'), 'broadcasting', 'the other stream is live still');
my ($segs) = playlist_segments(slurp("$dir/bystander.m3u8"));
my $last = @$segs ? $segs->[-1][1] : '';
ok(poll_until(sub {
    my ($s) = playlist_segments(slurp("$dir/bystander.m3u8"));
    @$s && $s->[-1][1] ne $last }, 15),
   'and its HLS keeps advancing');

waitpid $pub_a, 0;
my $again = publish("rtmp://127.0.0.1:$port/LiveApp/victim", seconds => 3,
                    size => '320x240', rate => 15);
ok(poll_until(sub { status_of('victim') eq 'broadcasting' }, 15),
   'the name can be published again');
is(wait_publisher($again, 30), 0, 'and that publisher finishes cleanly');

# --- a worker killed while it holds the viewer-table lock of a stream ---

SKIP: {
    skip 'gdb is needed to stop a worker inside the lock', 3
        unless `gdb --version 2>&1` =~ /GNU gdb/;

    my $url = "http://127.0.0.1:$http/LiveApp/streams/bystander.m3u8";
    is(`curl -s -o /dev/null -w '%{http_code}' --max-time 5 $url`, '200',
       'the playlist is served before');

    my ($victim) = grep { $_ != $wb } $ng->worker_pids;
    $victim //= $wb;
    my $log = $ng->prefix . '/gdb.log';
    my $gdb = fork // die;
    if ($gdb == 0) {
        open STDOUT, '>', $log;
        open STDERR, '>&', \*STDOUT;
        exec 'gdb', '-q', '-nx', '-batch', '-p', $victim,
            '-ex', 'set pagination off',
            '-ex', 'break ngx_ams_shm_lock',
            '-ex', 'continue', '-ex', 'finish', '-ex', 'kill';
        exit 127;
    }
    poll_until(sub { (slurp($log) // '') =~ /Breakpoint 1 at/ }, 30);

    # requests land on either worker: one reaching the stopped worker
    # takes the lock there, and gdb kills the worker holding it
    my $deadline = time + 60;
    while (time < $deadline && waitpid($gdb, POSIX::WNOHANG()) == 0) {
        system("curl -s -o /dev/null --max-time 1 $url");
    }
    kill 'KILL', $gdb if waitpid($gdb, POSIX::WNOHANG()) == 0;
    # "finish" names the caller as "0x... in f (...)", or as "f (...)"
    # when it returns to the start of a line
    like(slurp($log) // '',
         qr/hit Breakpoint 1, ngx_ams_shm_lock.*\bngx_ams_viewer_\w+ .*\(process $victim\) killed/s,
         "worker $victim was killed inside the viewer-table lock");

    my $served = 0;
    for (1 .. 10) {
        $served++ if `curl -s -o /dev/null -w '%{http_code}' --max-time 5 $url`
                     eq '200';
    }
    is($served, 10, 'every request after it is served: the lock was taken over');
}

kill 'TERM', $pub_b;
waitpid $pub_b, 0;

my @crashes = grep { !/signal 9\b/ } split /\n/, $ng->crashes;
is(join("\n", @crashes), '', 'no worker crashed but those killed');

done_testing();
