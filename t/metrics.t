# /metrics in Prometheus' text format: promtool (Debian's prometheus
# package) accepts it, it counts a live stream, its viewers and the bytes
# sent to them (RTMP, and HLS to the byte over a keepalive connection), and a
# real Prometheus server scrapes it and answers a query for
# ams_streams_active.

use strict;
use warnings;

use Test::More;
use JSON::PP;
use Time::HiRes qw(time sleep);
use Ams::Nginx;
use Ams::Media;

my $ng = Ams::Nginx->new(workers => 2)->start;
my $port = $ng->http_port;
my $metrics_url = "http://127.0.0.1:$port/metrics";

sub metrics { scalar `curl -s $metrics_url` }

sub sent {
    my ($protocol) = @_;
    metrics() =~ /^ams_sent_bytes_total\{protocol="$protocol"\} (\d+)$/m
        or return -1;
    return $1;
}

like(metrics(), qr/^ams_streams_active 0$/m, 'no streams at first');

my $pub = publish('rtmp://127.0.0.1:' . $ng->rtmp_port . '/LiveApp/cam',
                  seconds => 120, size => '320x240', rate => 25,
                  log => $ng->prefix . '/publisher.log');
ok(poll_until(sub { metrics() =~ /^ams_streams_active 1$/m }, 20),
   'ams_streams_active 1 with a live stream');

my $player = fork // die;
if ($player == 0) {
    open STDERR, '>', '/dev/null';
    exec 'ffmpeg', '-nostdin', '-i',
         'rtmp://127.0.0.1:' . $ng->rtmp_port . '/LiveApp/cam',
         '-f', 'null', '-';
    exit 127;
}
ok(poll_until(sub { metrics() =~ /^ams_stream_viewers\{app="LiveApp",stream="cam",protocol="rtmp"\} 1$/m }, 20),
   'with its RTMP viewer');
like(metrics(), qr/^ams_stream_received_bytes_total\{app="LiveApp",stream="cam"\} [1-9]\d*$/m,
     'and the bytes it received');

# egress: the RTMP player's media, and what an HLS client receives
ok(poll_until(sub { sent('rtmp') > 100_000 }, 20),
   'ams_sent_bytes_total{protocol="rtmp"} counts the RTMP player\'s media');

my $hls = "http://127.0.0.1:$port/LiveApp/streams";
my ($segment) = ('');
ok(poll_until(sub {
        ($segment) = `curl -s $hls/cam.m3u8` =~ /^(cam\d+\.ts)$/m;
        return defined $segment;
    }, 20), 'an HLS segment to fetch') or $segment = 'none.ts';
my $before = sent('hls');
# one keepalive connection: each request's bytes count once
my @got = `curl -s -o /dev/null -o /dev/null -o /dev/null -w '%{http_code} %{size_header} %{size_download} %{num_connects}\n' $hls/cam.m3u8 $hls/$segment $hls/cam.m3u8`;
my ($received, $connects) = (0, 0);
for (@got) {
    my ($code, $head, $body, $new) = split;
    $received += $head + $body;
    $connects += $new;
}
is(scalar(grep { /^200 / } @got), 3, 'the player got the playlist, a segment, the playlist')
    or diag @got;
is($connects, 1, 'over one connection');
my $grown;
ok(poll_until(sub { $grown = sent('hls') - $before; $grown >= $received }, 10),
   "ams_sent_bytes_total{protocol=\"hls\"} grew by the $received bytes curl received")
    or diag "grew by $grown";
is($grown, $received, 'and by no more (a keepalive request counts its own bytes)');
like(metrics(), qr/^ams_sent_bytes_total\{protocol="dash"\} 0$/m,
     'DASH sent nothing');

my $text = metrics();

# the text format: a family's samples follow its own HELP and TYPE lines
my ($family, %seen, @misplaced);
for my $line (split /\n/, $text) {
    if ($line =~ /^# TYPE (\S+)/) {
        push @misplaced, "TYPE $1 twice" if $seen{$1}++;
        $family = $1;
    } elsif ($line =~ /^([a-z_]+)[{ ]/) {
        push @misplaced, $line unless defined $family && $1 eq $family;
    }
}
is_deeply(\@misplaced, [], 'every sample right after its own HELP/TYPE')
    or diag $text;

like($text, qr/^ams_bus_zone_used_bytes [1-9]\d*$/m,
     'the bus zone in use, with a live stream');

# CPU with decimals: packaging a stream is a fraction of a percent
like($text, qr/^ams_process_cpu_percent \d+\.\d\d$/m,
     'ams_process_cpu_percent has two decimals');
like($text, qr/^ams_node_cpu_percent \d+\.\d\d$/m,
     'ams_node_cpu_percent too');
ok(poll_until(sub {
        metrics() =~ /^ams_process_cpu_percent (\S+)$/m && $1 > 0 }, 20),
   'nginx packaging a stream reads above 0');
ok(poll_until(sub {
        my $j = `curl -s http://127.0.0.1:$port/rest/v2/cpu-status`;
        my $doc = eval { decode_json($j) } or return;
        return $doc->{processCPULoad} > 0;
    }, 20), 'and so does processCPULoad');

my $file = $ng->prefix . '/metrics.txt';
open my $fh, '>', $file or die;
print $fh $text;
close $fh;
my $check = `promtool check metrics < $file 2>&1`;
is($?, 0, 'promtool check metrics accepts it') or diag $check;

# a real Prometheus scraping the node every second
my $prom_port = Ams::Nginx::free_port();
my $dir = $ng->prefix . '/prometheus';
mkdir $dir;
open $fh, '>', "$dir/prometheus.yml" or die;
print $fh <<"EOF2";
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: ams
    static_configs:
      - targets: ['127.0.0.1:$port']
EOF2
close $fh;

my $prom = fork // die;
if ($prom == 0) {
    open STDOUT, '>', "$dir/log";
    open STDERR, '>&', \*STDOUT;
    exec 'prometheus', "--config.file=$dir/prometheus.yml",
         "--storage.tsdb.path=$dir/data",
         "--web.listen-address=127.0.0.1:$prom_port";
    exit 127;
}

my $answer;
ok(poll_until(sub {
        my $q = `curl -s 'http://127.0.0.1:$prom_port/api/v1/query?query=ams_streams_active'`;
        my $doc = eval { decode_json($q) } or return;
        my $r = $doc->{data}{result}[0] or return;
        $answer = $r->{value}[1];
        return $answer eq '1';
    }, 60),
   'Prometheus scraped it: ams_streams_active is 1')
    or diag slurp("$dir/log");

kill 'TERM', $prom;
waitpid $prom, 0;
kill 'KILL', $player;
waitpid $player, 0;
kill 'INT', $pub;
wait_publisher($pub, 20);

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
