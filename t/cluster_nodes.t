# Cluster nodes as a user sees them: nginx nodes sharing one store (a
# SQLite file; the MongoDB wire server too when t/lib/Ams/Mongo.pm is
# there) register themselves and appear in /rest/v2/cluster/nodes with
# role, group and ports, ALIVE; a node killed with SIGKILL reads DEAD
# within 4 heartbeat periods, one stopped reads DEAD at once (a reload
# does not), a DEAD record goes after node_dead_removal, a record can be
# deleted, and the heartbeat survives the SIGKILL of the worker sending
# it.

use strict;
use warnings;

use Test2::IPC;                  # subtests from forked processes
use Test::More;
use Test2::API qw(run_subtest);
use File::Temp qw(tempdir);
use Time::HiRes qw(sleep time);
use Ams::Nginx;
use Ams::Media;
use Ams::Rest;

my $PERIOD = 1;        # node_update_period, seconds
my $REMOVAL = 6;       # node_dead_removal, seconds
my $KEY = 'k' x 40;

# the MongoDB wire server when it can run here (./build.sh deps)
my @stores = ('sqlite');
push @stores, 'mongodb'
    if eval { require Ams::Mongo; 1 }
       && -d 't/mongo/node_modules/@push.rocks/smartmongo'
       && system('node --version >/dev/null 2>&1') == 0;

# the stores' scenarios side by side: each its own process, nodes, ports
# and store (they share nothing; most of their time is waiting)
my @kids;
for my $store (@stores) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        run_subtest("store $store", sub { run_scenario($store) },
                    { buffered => 1 });
        exit 0;
    }
    push @kids, $pid;
}
for my $pid (@kids) {
    waitpid $pid, 0;
    # one that died outside its subtest (a signal) reported nothing
    fail("a store's scenario process died (status $?)") if $?;
}

done_testing();


sub database {
    my ($store) = @_;

    if ($store eq 'mongodb') {
        my $mongo = Ams::Mongo->new;
        return ($mongo->uri, $mongo);
    }

    my $dir = tempdir('ams-cluster-XXXXXX', TMPDIR => 1,
                      CLEANUP => !$ENV{AMS_KEEP});
    chmod 0777, $dir;
    return ("sqlite:$dir/ams.db", undef);
}

sub node {
    my (%o) = @_;
    my $cluster = $o{role} ? <<"EOF" : '';
    node_role                  $o{role};
    node_group                 $o{group};
    node_update_period         ${PERIOD}s;
    node_dead_removal          ${REMOVAL}s;
    node_http_port             \$HTTP_PORT;
    node_rtmp_port             \$RTMP_PORT;
    cluster_communication_key  $KEY;
EOF
    return Ams::Nginx->new(
        workers => 2,
        modules => [qw(core ingest packager api cluster)],
        main_config => <<"EOF")->start;
ams {
    storage        \$MEDIA;
    database       $o{db};
    thread_pool    ams;
    bus_zone_size  32m;
    cpu_limit      100;
    memory_limit   100;
    node_address   $o{address};
$cluster
    application LiveApp {}
}
EOF
}

sub nodes {
    my ($ng) = @_;
    my ($st, $doc) = rest($ng, 'GET', '/rest/v2/cluster/nodes/0/50');
    return {} unless $st == 200 && ref $doc eq 'ARRAY';
    return { map { $_->{id} => $_ } @$doc };
}

sub status_of {
    my ($ng, $id) = @_;
    my $n = nodes($ng)->{$id} or return 'absent';
    return $n->{status};
}

# the pid of the worker that last took the heartbeat, from its log
sub heartbeat_pid {
    my ($ng) = @_;
    my @pids = $ng->error_log
        =~ /(\d+)#\d+: ams cluster: this worker sends the heartbeat/g;
    return $pids[-1];
}

sub run_scenario {
    my ($store) = @_;
    my ($db, $mongo) = database($store);

    my $a = node(db => $db, address => '127.0.0.11', role => 'origin',
                 group => 'eu');
    my $b = node(db => $db, address => '127.0.0.12', role => 'edge',
                 group => 'us');
    my $c = node(db => $db, address => '127.0.0.13', role => 'origin',
                 group => 'us');

    my $all = poll_until(sub {
        my $n = nodes($a);
        (grep { ($n->{$_}{status} // '') eq 'ALIVE' }
              qw(127.0.0.11 127.0.0.12 127.0.0.13)) == 3 ? $n : undef
    }, 10);
    ok($all, 'the three nodes are listed ALIVE by node A');
    $all ||= nodes($a);

    my $na = $all->{'127.0.0.11'} // {};
    my $nb = $all->{'127.0.0.12'} // {};
    is($na->{role}, 'origin', 'A is an origin');
    is($na->{nodeGroup}, 'eu', 'of group eu');
    is($nb->{role}, 'edge', 'B is an edge');
    is($nb->{nodeGroup}, 'us', 'of group us');
    is($nb->{ip}, '127.0.0.12', "B's address");
    is($nb->{httpPort}, $b->http_port, "B's HTTP port");
    is($nb->{rtmpPort}, $b->rtmp_port, "B's RTMP port");
    ok(defined $nb->{cpu} && defined $nb->{memory} && $nb->{version},
       'cpu, memory and version');
    ok($nb->{lastUpdateTime} > (time - 5) * 1000, 'a recent lastUpdateTime');

    is(status_of($b, '127.0.0.11'), 'ALIVE', 'B lists A ALIVE too');

    my ($st, $doc) = rest($a, 'GET', '/rest/v2/cluster/node-count');
    is_deeply($doc, { number => 3 }, 'node-count');
    ($st, $doc) = rest($a, 'GET', '/rest/v2/cluster-mode-status');
    ok($doc && $doc->{success}, 'cluster-mode-status: in cluster mode');
    ($st, $doc) = rest($a, 'GET', '/rest/v2/cluster/nodes/1/1');
    is(scalar @{ $doc // [] }, 1, 'nodes/1/1 is one node');

    ($st, $doc) = rest($a, 'GET', '/rest/v2/system-resources');
    ok(defined $doc->{dbAverageQueryTimeMs},
       "system-resources: dbAverageQueryTimeMs $doc->{dbAverageQueryTimeMs}");

    my $metrics = poll_until(sub {
        my $m = `curl -s http://127.0.0.1:@{[ $a->http_port ]}/metrics`;
        $m =~ /^ams_cluster_nodes\{status="alive"\} 3$/m ? $m : undef }, 5);
    ok($metrics, '/metrics: 3 cluster nodes alive');
    like($metrics // '', qr/^ams_db_average_query_seconds \d+\.\d+$/m,
         '/metrics: ams_db_average_query_seconds');

    # the heartbeat's worker killed: another worker takes the heartbeat
    my $hb = heartbeat_pid($a);
    ok($hb, "A's heartbeat comes from worker $hb");
    kill 'KILL', $hb if $hb;
    my $killed = time;
    my $after = poll_until(sub {
        my $t = nodes($b)->{'127.0.0.11'}{lastUpdateTime} // 0;
        $t > ($killed + 1.5) * 1000 ? $t : undef }, 5);
    ok($after, 'A still updates its record after the kill');
    my $hb2 = heartbeat_pid($a);
    ok($hb2 && $hb2 != $hb, "worker $hb2 sends it now");
    is(status_of($b, '127.0.0.11'), 'ALIVE', 'A stays ALIVE');

    # a reload does not mark the node stopped
    $a->reload;
    sleep 0.5;
    my $ra = nodes($b)->{'127.0.0.11'} // {};
    ok(!defined $ra->{stoppedTime} && ($ra->{status} // '') eq 'ALIVE',
       'a reload leaves A ALIVE, not stopped');
    my $reloaded = time;
    ok(poll_until(sub {
        (nodes($b)->{'127.0.0.11'}{lastUpdateTime} // 0)
            > ($reloaded + 1.5 * $PERIOD) * 1000 }, 4 * $PERIOD),
       'and the new workers go on with its heartbeat');
    is(status_of($b, '127.0.0.11'), 'ALIVE', 'A is ALIVE');

    # SIGKILL of B's master and workers: DEAD within 4 periods
    my @pids = ($b->pid, $b->worker_pids);
    kill 'KILL', @pids;
    $killed = time;
    my $dead = poll_until(sub { status_of($a, '127.0.0.12') eq 'DEAD' },
                          4 * $PERIOD + 3);
    my $took = time - $killed;
    ok($dead, sprintf('B killed reads DEAD after %.1f s', $took));
    ok($took <= 4 * $PERIOD + 1.5, 'within 4 periods (and a read)');
    $b->{started} = 0;

    # graceful stop (nginx -s quit): DEAD at once
    is(status_of($a, '127.0.0.13'), 'ALIVE', 'C is ALIVE');
    my $cpid = $c->pid;
    system(join(' ', map { quotemeta } $c->nginx_cmd('-s', 'quit')));
    ok(poll_until(sub { !kill 0, $cpid }, 10), 'C quits');
    $c->{started} = 0;
    my $nc = nodes($a)->{'127.0.0.13'} // {};
    is($nc->{status}, 'DEAD', 'C reads DEAD as soon as it is gone');
    ok(($nc->{stoppedTime} // 0) >= $nc->{lastUpdateTime},
       'stopped after its last update');
    like($c->error_log, qr/node "127\.0\.0\.13" stops: its record is marked stopped/,
         "C's log says so");

    # started again: ALIVE; stopped fast (SIGTERM, nginx -s stop): DEAD
    $c->start;
    ok(poll_until(sub { status_of($a, '127.0.0.13') eq 'ALIVE' }, 5),
       'C started again reads ALIVE');
    $c->stop;
    is(status_of($a, '127.0.0.13'), 'DEAD',
       'C stopped with SIGTERM reads DEAD at once');

    # DELETE of a node
    ($st, $doc) = rest($a, 'DELETE', '/rest/v2/cluster/node/127.0.0.13');
    ok($doc && $doc->{success}, 'DELETE of C succeeds');
    is(status_of($a, '127.0.0.13'), 'absent', 'C is no longer listed');
    ($st, $doc) = rest($a, 'DELETE', '/rest/v2/cluster/node/nosuch');
    ok($doc && !$doc->{success}, 'DELETE of an unknown node: success false');
    # B's DEAD record may go meanwhile (node_dead_removal): the count and
    # the list agree once neither changes between the two calls
    my $listed;
    ok(poll_until(sub {
        ($st, $doc) = rest($a, 'GET', '/rest/v2/cluster/node-count');
        $listed = keys %{ nodes($a) };
        $doc && ($doc->{number} // 0) == $listed && $listed <= 2;
    }, 5), 'node-count ' . ($listed // '?') . ' after the deletion');

    # B's DEAD record goes after node_dead_removal
    my $gone = poll_until(sub { status_of($a, '127.0.0.12') eq 'absent' },
                          $REMOVAL + 6);
    my $since = time - $killed;
    ok($gone, sprintf('B\'s DEAD record removed %.1f s after the kill', $since));
    ok($since >= $REMOVAL - 1.5, "not before node_dead_removal ($REMOVAL s)");
    # (a failed list also reads "absent": a log is what says it went;
    # every node's heartbeat expires old records, so C's may have, when
    # it started again after B's record was old enough: a slow machine)
    ok(poll_until(sub {
           ($a->error_log . $c->error_log) =~ /DEAD node records removed/
       }, 10), "A's or C's log says so");

    # a node without node_role: AMS's standalone answers
    my $d = node(db => $db, address => '127.0.0.14');
    ($st, $doc) = rest($d, 'GET', '/rest/v2/cluster-mode-status');
    ok($doc && !$doc->{success}, 'standalone: not in cluster mode');
    ($st, $doc) = rest($d, 'GET', '/rest/v2/cluster/node-count');
    is_deeply($doc, { number => 0 }, 'standalone: node-count 0');
    $d->stop;

    is(status_of($a, '127.0.0.11'), 'ALIVE', 'A is ALIVE');
    unlike($a->error_log, qr/heartbeat of node .* failed/,
           'no failed heartbeat logged');

    # the store down for 4 periods (the wire server wipes itself): logged
    # once, not per period; the heartbeat comes back by itself
    if ($mongo) {
        $mongo->stop;
        sleep 4 * $PERIOD;
        my @failed = $a->error_log =~ /(heartbeat of node "127\.0\.0\.11" failed)/g;
        is(scalar @failed, 1, 'the outage is logged once');
        $mongo->start;
        ok(poll_until(sub { status_of($a, '127.0.0.11') eq 'ALIVE' }, 15),
           'A is back in the list, ALIVE, after the store returns');
        ok(poll_until(sub { $a->error_log
                            =~ /heartbeat of node "127\.0\.0\.11" sent again/ },
                      5), 'and says so');
    }

    $a->stop;

    for my $ng ($a, $c) {
        is(join("\n", grep { !/exited on signal 9\b/ } split /\n/,
                $ng->crashes), '',
           'no crash but the kill in ' . $ng->prefix);
    }
}
