# The StatsCollector and cpu_limit: with CPU burners running, the 5-second
# average crosses the limit; a new RTMP publisher is refused with
# NetStream.Publish.Failed "highResourceUsage", the status webhook hears
# highResourceUsage, and a stream already live goes on: its HLS viewers,
# new ones included, get playlists and segments and an RTMP player plays
# it (a busy node never freezes a player).  When the burners stop,
# publishing works again.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time sleep);
use Ams::Nginx;
use Ams::Media;
use Ams::Rest;
use Ams::Hook;

my $hook_file = File::Temp->new;
my $hook = Ams::Hook->new(file => "$hook_file");
my $hook_url = $hook->url('/status');

my $ng = Ams::Nginx->new(main_config => <<"EOF2")->start;
ams {
    storage             \$MEDIA;
    thread_pool         ams;
    bus_zone_size       64m;
    cpu_limit           60;
    status_webhook_url  $hook_url;

    application LiveApp {
        hls_time  1s;
    }
}
EOF2

my $rtmp = 'rtmp://127.0.0.1:' . $ng->rtmp_port . '/LiveApp';
my $http = 'http://127.0.0.1:' . $ng->http_port . '/LiveApp/streams';

sub metric {
    my ($name) = @_;
    my $text = `curl -s http://127.0.0.1:@{[ $ng->http_port ]}/metrics`;
    return $text =~ /^\Q$name\E (\d+)$/m ? $1 : -1;
}

sub cpu {
    my ($st, $doc) = rest($ng, 'GET', '/rest/v2/cpu-status');
    return $doc->{systemCPULoad} // -1;
}

# a stream that is live before the node gets busy
my $live = publish("$rtmp/before", seconds => 120, size => '320x240',
                   rate => 25, log => $ng->prefix . '/before.log');
ok(poll_until(sub { -s $ng->media . '/LiveApp/streams/before.m3u8' }, 20),
   'a stream is live');
ok(poll_until(sub { metric('ams_node_overloaded') == 0 }, 15),
   'the node is not overloaded yet')
    or diag 'cpu ' . cpu();

# one busy loop per CPU
my @burners;
my $cpus = (`nproc` + 0) || 2;
for (1 .. $cpus) {
    my $pid = fork // die;
    if ($pid == 0) {
        1 while 1;
    }
    push @burners, $pid;
}

ok(poll_until(sub { metric('ams_node_overloaded') == 1 }, 20),
   'with the CPU busy the node is overloaded')
    or diag 'cpu ' . cpu();
ok(cpu() > 60, 'cpu-status reports the load above cpu_limit');
my (undef, $status) = rest($ng, 'GET', '/rest/v2/cpu-status');
ok($status->{processCPULoad} < $status->{systemCPULoad} - 20,
   "processCPULoad is nginx's own ($status->{processCPULoad}%), not the "
   . "burners' ($status->{systemCPULoad}%)");

my $log = $ng->prefix . '/refused.log';
my $pid = publish("$rtmp/after", seconds => 2, size => '320x240',
                  rate => 25, log => $log);
isnt(wait_publisher($pid, 30), 0, 'a new publisher is refused');
like(slurp($log) // '', qr/highResourceUsage/,
     'ffmpeg hears highResourceUsage');
like($ng->error_log, qr/new publisher refused: cpu above its limit/,
     'the log says why');

my $jar = $ng->prefix . '/jar';
my $code = `curl -s -o /dev/null -w '%{http_code}' -c $jar '$http/before.m3u8'`;
is($code, 200, 'a new HLS viewer gets its playlist');
my ($segment) = grep { /\.ts$/ }
    split /\n/, slurp($ng->media . '/LiveApp/streams/before.m3u8') // '';
$code = `curl -s -o /dev/null -w '%{http_code}' -b $jar '$http/$segment'`;
is($code, 200, 'and its segments');
my $played = system('ffmpeg', '-nostdin', '-v', 'quiet', '-rw_timeout',
                    '10000000', '-i', "$rtmp/before", '-t', '1', '-f',
                    'null', '-');
is($played, 0, 'an RTMP player plays the live stream');
unlike($ng->error_log, qr/new viewer refused/, 'no viewer was refused');

ok(poll_until(sub { grep { /highResourceUsage/ } $hook->received }, 15),
   'the status webhook is told');
my ($line) = grep { /highResourceUsage/ } $hook->received;
like($line, qr/^200 application\/json \{.*"action":"highResourceUsage"/,
     'as JSON with action highResourceUsage');
like($line, qr/"cpuLimit":60/, 'with the limit');

ok(kill(0, $live), 'the stream that was live goes on');
ok(metric('ams_refused_total{who="publisher"}') >= 1,
   'metrics count the refusal');

kill 'KILL', @burners;
waitpid $_, 0 for @burners;

ok(poll_until(sub { metric('ams_node_overloaded') == 0 }, 30),
   'the load falls below the limit again')
    or diag 'cpu ' . cpu();

$pid = publish("$rtmp/later", seconds => 2, size => '320x240', rate => 25,
               log => $ng->prefix . '/later.log');
is(wait_publisher($pid, 30), 0, 'and a publisher is admitted');

kill 'INT', $live;
wait_publisher($live, 20);

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
