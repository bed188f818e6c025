# The balancer's own upstream: "ams_cluster_upstream edge" takes its
# peers from the nodes the store reports ALIVE, and health-checks them
# itself.  Two edges and a balancer share one store:
# requests through the balancer reach both edges; an edge killed with -9
# leaves the pool within a second with no request lost (before the store
# could call it DEAD); a third edge started later joins without a reload;
# an upstream with no node of its role answers 502 at once.  The store is
# the MongoDB wire server (SQLite where it cannot run, or with
# AMS_CLUSTER_SQLITE=1).

use strict;
use warnings;

use Test::More;
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);
use Ams::Nginx;
use Ams::Media;
use Ams::Mongo;

# the store the nodes share: the MongoDB wire server where it can run,
# else one SQLite file (the same interface)
my $mongo = $ENV{AMS_CLUSTER_SQLITE} ? undef : eval { Ams::Mongo->new };
my $database;
if ($mongo) {
    $database = $mongo->uri;
} else {
    my $store = tempdir('ams-cluster-store-XXXXXX', TMPDIR => 1,
                        CLEANUP => !$ENV{AMS_KEEP});
    chmod 0777, $store;
    $database = "sqlite:$store/ams.db";
}
diag("store: $database");

my $modules = [qw(core ingest packager api cluster)];

sub ams_block {
    my ($role, $addr, $group) = @_;
    return <<"EOF";
thread_pool  store threads=2;

ams {
    storage             \$MEDIA;
    thread_pool         ams;
    store_thread_pool   store;
    bus_zone_size       32m;
    cpu_limit           100;
    memory_limit        100;
    database            $database;

    node_role           $role;
    node_address        $addr;
    node_group          $group;
    node_http_port      \$HTTP_PORT;
    node_rtmp_port      \$RTMP_PORT;
    node_update_period  1s;

    application LiveApp {
    }
}
EOF
}

# an edge answers who it is; its REST API gives the liveness
sub edge {
    my ($name, $addr, $group) = @_;
    return Ams::Nginx->new(
        modules     => $modules,
        main_config => ams_block('edge', $addr, $group // 'default'),
        stream_config => <<"EOF",
server {
    listen  $addr:\$RTMP_PORT;
    ams_rtmp;
}
EOF
        config      => <<"EOF",
listen  $addr:\$HTTP_PORT;

location /who {
    return  200  "$name\\n";
}
location /rest/ {
    ams_rest;
}
EOF
    )->start;
}

my %edge;
$edge{e1} = edge('e1', '127.0.0.11');
$edge{e2} = edge('e2', '127.0.0.12');

my $lb = Ams::Nginx->new(
    modules     => $modules,
    workers     => 2,
    main_config => ams_block('balancer', '127.0.0.10', 'default'),
    stream_config => <<'EOF',
log_format  ups  '$upstream_addr';

upstream ams_edges_rtmp {
    ams_cluster_upstream  edge;
}

server {
    listen      127.0.0.1:$RTMP_PORT;
    proxy_pass  ams_edges_rtmp;
    access_log  $PREFIX/logs/stream.log  ups;
}
EOF
    http_config => <<'EOF',
upstream ams_edges {
    ams_cluster_upstream  edge;
    keepalive             8;
}
upstream ams_eu_edges {
    ams_cluster_upstream  edge  group=eu;
}
upstream ams_origins {
    ams_cluster_upstream  origin;
}
upstream ams_edges_webrtc {
    ams_cluster_upstream  edge  hash=$arg_streamId;
}
EOF
    config      => <<'EOF',
proxy_http_version     1.1;
proxy_set_header       Connection "";
proxy_connect_timeout  1s;
proxy_next_upstream    error timeout;
add_header             X-Upstream $upstream_addr always;

location /who {
    proxy_pass  http://ams_edges;
}
location /eu/ {
    proxy_pass  http://ams_eu_edges/;
}
location /origin/ {
    proxy_pass  http://ams_origins/;
}
location /sticky/ {
    proxy_pass  http://ams_edges_webrtc/;
}
EOF
)->start;

my $ua = HTTP::Tiny->new(timeout => 5, keep_alive => 0);
my $base = 'http://127.0.0.1:' . $lb->http_port;

sub get {
    my ($path) = @_;
    my $r = $ua->get("$base$path");
    my $who = $r->{content} // '';
    chomp $who;
    return ($r->{status}, $who, $r->{headers}{'x-upstream'} // '');
}

sub addr { my ($ng, $ip) = @_; "$ip:" . $ng->http_port }

# both edges in the pool, from their heartbeats
my %seen;
poll_until(sub {
    my ($st, $who) = get('/who');
    $seen{$who}++ if $st == 200;
    $seen{e1} && $seen{e2};
}, 15);
ok($seen{e1} && $seen{e2}, 'requests through the balancer reach both edges')
    or diag(explain(\%seen), $lb->error_log);

%seen = ();
for (1 .. 20) {
    my ($st, $who) = get('/who');
    $seen{$st == 200 ? $who : "status $st"}++;
}
ok(($seen{e1} // 0) >= 5 && ($seen{e2} // 0) >= 5 && keys %seen == 2,
   '20 sequential requests spread over the two edges')
    or diag(explain(\%seen));

sub hits {
    my ($ng) = @_;
    my $log = Ams::Media::slurp($ng->prefix . '/logs/access.log') // '';
    return scalar(() = $log =~ m{"GET /who }g);
}
ok(hits($edge{e1}) >= 5 && hits($edge{e2}) >= 5,
   'both edges\' access logs show them')
    or diag(hits($edge{e1}), ' ', hits($edge{e2}));

# RTMP through the stream twin: an RTMP handshake's first answer (S0)
# comes back from the edges' ams_rtmp, on their node_rtmp_port
sub rtmp_s0 {
    my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $lb->rtmp_port, Timeout => 3)
        or return '';
    print $c "\x03", "\0" x 1536;
    my $s0 = '';
    $c->read($s0, 1);
    close $c;
    return unpack('H2', $s0 // '');
}
my @s0 = map { rtmp_s0() } 1 .. 6;
is(join(',', @s0), join(',', ('03') x 6),
   'RTMP through the balancer\'s stream upstream: the edges answer');
my %rtmp;
poll_until(sub {
    my $log = Ams::Media::slurp($lb->prefix . '/logs/stream.log') // '';
    %rtmp = map { $_ => 1 } split /\n/, $log;
    keys %rtmp >= 2;
}, 5);
is_deeply([sort keys %rtmp],
          [sort map { "127.0.0.$_->[1]:" . $_->[0]->rtmp_port }
                [$edge{e1}, 11], [$edge{e2}, 12]],
          'both edges, on their node_rtmp_port')
    or diag(explain(\%rtmp));

# hash=: one stream id, one edge (WebRTC signalling's affinity)
sub owners {
    my %owner;
    for my $id (map { "s$_" } 1 .. 16) {
        my %got;
        for (1 .. 3) {
            my ($st, $who) = get("/sticky/who?streamId=$id");
            $got{$st == 200 ? $who : "status $st"}++;
        }
        $owner{$id} = join '+', sort keys %got;
    }
    return \%owner;
}
my $owner = owners();
my %by;
$by{$_}++ for values %$owner;
ok(!(grep { !/^e[12]$/ } values %$owner) && keys %by == 2,
   'hash=$arg_streamId: each stream id always on one edge, both used')
    or diag(explain($owner));

my $t0 = time;
my ($st) = get('/origin/x');
my $dt = time - $t0;
is($st, 502, 'no origin in the cluster: 502');
cmp_ok($dt, '<', 0.5, 'at once') or diag($dt);

# kill -9 of e2, master and workers: no request fails, and within a second
# none is even tried on it
my $dead = addr($edge{e2}, '127.0.0.12');
# the master first: it would fork a new worker for a killed one
my @pids = ($edge{e2}->pid, $edge{e2}->worker_pids);
my $killed = time;
kill 'KILL', @pids;

my ($failed, $last_tried, $n) = (0, 0, 0);
while (time - $killed < 3) {
    my ($st, $who, $up) = get('/who');
    $n++;
    $failed++ if $st != 200 || $who ne 'e1';
    $last_tried = time - $killed if index($up, $dead) >= 0;
}
is($failed, 0, "kill -9 of an edge: none of $n requests in 3 s failed");
cmp_ok($last_tried, '<', 1,
       'within 1 s every request goes straight to the other edge');
diag(sprintf('failover under load: the killed edge was last tried '
             . '%.1f ms after the kill (%d requests in 3 s)',
             $last_tried * 1000, $n));
ok(poll_until(sub { !grep { kill 0, $_ } @pids }, 5), 'that edge is gone');
unlink $edge{e2}->prefix . '/nginx.pid';
$edge{e2}{started} = 0;
@s0 = map { rtmp_s0() } 1 .. 6;
is(join(',', @s0), join(',', ('03') x 6), 'RTMP too: every connection '
   . 'reaches the edge left');

my $after = owners();
is_deeply([grep { $owner->{$_} eq 'e1' && $after->{$_} ne 'e1' } keys %$owner],
          [], 'hash=: the surviving edge keeps its stream ids');
is(join(',', sort { $a cmp $b } keys %{ { map { $_ => 1 } values %$after } }),
   'e1', 'and the killed edge\'s go to it');

my @down = $lb->error_log =~ /ams cluster upstream: node \Q$dead\E is down/g;
is(scalar @down, 1, 'the balancer says the node is down, once');

# a third edge, of group eu, joins without a reload
my $joined = time;
$edge{e3} = edge('e3', '127.0.0.13', 'eu');
my $e3_at;
poll_until(sub {
    my ($st, $who) = get('/who');
    $e3_at = time - $joined if $who eq 'e3';
    defined $e3_at;
}, 10);
ok(defined $e3_at, 'a third edge started later joins the pool, no reload')
    and diag(sprintf('joined %.1f s after its start', $e3_at));

my %eu;
for (1 .. 5) {
    my ($st, $who) = get('/eu/who');
    $eu{$who}++;
}
is(join(',', keys %eu), 'e3', 'group=eu: only the eu edge');

# a reload of the balancer: the pool and the health zone go on
$lb->reload;
my ($bad, $m) = (0, 0);
my $reloaded = time;
while (time - $reloaded < 2) {
    my ($st, $who) = get('/who');
    $m++;
    $bad++ if $st != 200 || $who !~ /^e[13]$/;
}
is($bad, 0, "a reload of the balancer: none of $m requests failed");

# no traffic at all: the active check alone takes a killed edge out
# within its interval (1 s) and a tick
my $gone = addr($edge{e1}, '127.0.0.11');
@pids = ($edge{e1}->pid, $edge{e1}->worker_pids);
# anywhere in the probes' period (the reload above set their phase)
sleep rand(1);
$killed = time;
kill 'KILL', @pids;
my $seen_down;
while (!defined $seen_down && time - $killed < 3) {
    $seen_down = time - $killed
        if $lb->error_log =~ /node \Q$gone\E is down/;
    sleep 0.01;
}
ok(defined $seen_down && $seen_down < 1.3,
   'idle: the active check says a killed edge is down within 1.3 s');
diag(sprintf('failover idle (active check alone, interval 1 s): down '
             . 'after %.0f ms', ($seen_down // 9) * 1000));
poll_until(sub { !grep { kill 0, $_ } @pids }, 5);
unlink $edge{e1}->prefix . '/nginx.pid';
$edge{e1}{started} = 0;
my @tried;
for (1 .. 20) {
    my ($st, $who, $up) = get('/who');
    push @tried, "$st $who $up" if $st != 200 || index($up, $gone) >= 0;
}
is(join('; ', @tried), '', 'then no request even tries that edge');

is($lb->crashes, '', 'no worker of the balancer crashed');

# the prober's worker killed: its respawn (same worker slot) probes again
sub probes {
    my $log = Ams::Media::slurp($edge{e3}->prefix . '/logs/access.log')
        // '';
    return scalar(() = $log =~ m{"GET /rest/v2/liveness HTTP/1.0" 200}g);
}
my $before = probes();
kill 'KILL', $lb->worker_pids;
ok(poll_until(sub { probes() >= $before + 2 }, 5),
   'balancer workers killed: the new ones probe the nodes again');
my ($st3, $who3) = get('/eu/who');
is("$st3 $who3", '200 e3', 'and balance over them');

# without a node role there are no nodes to balance over
my $lone = Ams::Nginx->new(
    modules     => $modules,
    http_config => <<'EOF',
upstream ams_edges {
    ams_cluster_upstream  edge;
}
EOF
);
my ($ok, $why) = $lone->try_start;
ok(!$ok && $why =~ /"ams_cluster_upstream" needs "node_role"/,
   'ams_cluster_upstream without node_role: nginx refuses to start')
    or diag($why);

done_testing();
