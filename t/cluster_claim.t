# One stream id, one origin (issue 9, part 4: streamIdInUse).  Two origin
# nodes share one store; a publisher claims its stream id there before
# NetStream.Publish.Start, so of two publishers racing for one id on two
# origins exactly one wins, the other hears streamIdInUse, and the loser
# never touches the winner's record.  A record left "broadcasting" by an
# origin that died (a third one, killed first so that its record goes
# stale while the races run) stops blocking the id once it goes stale.
#
# Run twice: on one SQLite file shared by the nginx instances, and on
# the MongoDB wire server (t/lib/Ams/Mongo.pm) when it is installed; the
# two side by side (each its own process, nodes, ports and store: they
# share nothing; most of their time is waiting).

use strict;
use warnings;

use Test2::IPC;                  # subtests from forked processes
use Test::More;
use Test2::API qw(run_subtest);
use File::Temp qw(tempdir);
use IO::Select;
use Time::HiRes qw(time sleep);
use Ams::Nginx;
use Ams::Media;
use Ams::Rtmp;
use Ams::Rest;

my $key = 'k' x 40;
my $dir = tempdir('ams-claim-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0777, $dir;

my @stores = ('sqlite');
push @stores, 'mongodb'
    if eval { require Ams::Mongo; 1 } && -d 't/mongo/node_modules/@push.rocks/smartmongo';

my (%node, $db);
my %addr = (a => '127.0.0.11', b => '127.0.0.12', c => '127.0.0.13');

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

done_testing;


sub origin {
    my ($addr) = @_;
    return Ams::Nginx->new(
        workers => 2,
        modules => [qw(core ingest packager api cluster)],
        main_config => <<"EOF")->start;
ams {
    storage                    \$MEDIA;
    database                   $db;
    node_address               $addr;
    node_role                  origin;
    node_update_period         1s;
    cluster_communication_key  $key;
    broadcast_stale_timeout    15s;
    thread_pool                ams;
    bus_zone_size              32m;
    cpu_limit                  100;
    memory_limit               100;

    application LiveApp {
        delete_hls_files_on_ended  off;
    }
}
EOF
}

# the record as the REST API of node b shows it (the store's answer,
# cached by that worker for up to a second)
sub record {
    my ($id, $field) = @_;
    my ($st, $doc) = rest($node{b}, 'GET', "/LiveApp/rest/v2/broadcasts/$id");
    return '' unless $st == 200 && ref $doc eq 'HASH';
    return $doc->{$field} // '';
}

# a raw RTMP client up to the point where "publish" is one write away
sub ready {
    my ($n) = @_;
    my $c = Ams::Rtmp->new($node{$n}->rtmp_port)->handshake;
    $c->connect_app('LiveApp');
    $c->command(Ams::Rtmp::amf_string('createStream'),
                Ams::Rtmp::amf_number(2), Ams::Rtmp::amf_null);
    $c->created_stream;
    return $c;
}

sub send_publish {
    my ($c, $name) = @_;
    $c->message(type => 20, msid => 1, chunk => 4096,
                payload => Ams::Rtmp::amf_string('publish')
                    . Ams::Rtmp::amf_number(0) . Ams::Rtmp::amf_null
                    . Ams::Rtmp::amf_string($name)
                    . Ams::Rtmp::amf_string('live'));
}

# the onStatus code and description answering the publish
sub answer {
    my ($c) = @_;
    my $got = '';
    my $deadline = time + 10;
    while (time < $deadline && $got !~ /NetStream\.Publish\.\w+.*?description.{3}[^\0]*/s) {
        $got .= $c->read_for(0.05);
    }
    my ($code) = $got =~ /(NetStream\.Publish\.\w+)/;
    my ($desc) = $got =~ /description.{3}([\x20-\x7e]+)/s;
    return ($code // 'none', $desc // '');
}

sub run_scenario {
    my ($store) = @_;
    my $mongo;

    if ($store eq 'mongodb') {
        $mongo = Ams::Mongo->new;
        $db = $mongo->uri;
    } else {
        $db = "sqlite:$dir/ams.db";
    }

    %node = (a => origin($addr{a}), b => origin($addr{b}),
             c => origin($addr{c}));

    my $orphan_updated;

    # 4 (first: its record goes stale while 1 to 3 run). An origin dies
    # with a live stream: its record blocks the id while it is fresh, not
    # after broadcast_stale_timeout
    {
        my $c = ready('c');
        send_publish($c, 'orphan');
        my ($code) = answer($c);
        is($code, 'NetStream.Publish.Start', 'origin c publishes "orphan"');

        kill 'KILL', $node{c}->worker_pids, $node{c}->pid;
        $node{c}{started} = 0;
        close $c->{sock};

        my $b = ready('b');
        send_publish($b, 'orphan');
        my ($code2, $desc) = answer($b);
        like("$code2 $desc", qr/BadName streamIdInUse/,
             "right after origin c's death its fresh record still holds the id");
        close $b->{sock};
        # its last refresh, read while it is there for sure
        $orphan_updated = record('orphan', 'updateTime') / 1000;
    }

    # 1. publishers racing for one id on both origins, the publish commands
    # sent back to back: exactly one Publish.Start every round
    my $rounds = 30;
    my ($one_winner, $loser_told, $record_ok, %wins) = (0, 0, 0);
    for my $i (1 .. $rounds) {
        my %c = (a => ready('a'), b => ready('b'));
        my @order = $i % 2 ? qw(a b) : qw(b a);
        send_publish($c{$_}, "race$i") for @order;
        my %ans = map { $_ => [answer($c{$_})] } qw(a b);
        my @won = grep { $ans{$_}[0] eq 'NetStream.Publish.Start' } qw(a b);
        my @lost = grep { $ans{$_}[0] eq 'NetStream.Publish.BadName'
                          && $ans{$_}[1] =~ /^streamIdInUse/ } qw(a b);
        if (@won == 1 && @lost == 1) {
            $one_winner++;
            $wins{$won[0]}++;
            $loser_told++;
            # the loser wrote nothing: the record is the winner's publish's
            $record_ok++ if record("race$i", 'originAdress') eq $addr{$won[0]}
                && record("race$i", 'status') eq 'broadcasting'
                && record("race$i", 'publishSession') ne '';
        } else {
            diag("round $i: a=@{$ans{a}} b=@{$ans{b}}");
        }
        close $c{$_}{sock} for qw(a b);
    }
    is($one_winner, $rounds, "$rounds races for one id: one winner each time");
    is($loser_told, $rounds, 'the loser is told streamIdInUse (Publish.BadName)');
    is($record_ok, $rounds, "the record names the winner's origin and session");
    diag('wins: a ' . ($wins{a} // 0) . ', b ' . ($wins{b} // 0));

    my $logs = $node{a}->error_log . $node{b}->error_log;
    my $refusals = () = $logs =~ /ams access: publish of "race\d+" refused: streamIdInUse, live on origin "127\.0\.0\.1[12]"/g;
    is($refusals, $rounds, 'each refusal is logged with the origin holding the id');

    # 2. the id is free again once its publisher has gone
    ok(poll_until(sub { record('race1', 'status') ne 'broadcasting' }, 10),
       "race1's winner left: its record is no longer live");
    {
        my $loser = record('race1', 'originAdress') eq $addr{a} ? 'b' : 'a';
        my $c = ready($loser);
        send_publish($c, 'race1');
        my ($code) = answer($c);
        is($code, 'NetStream.Publish.Start', 'the other origin may publish it now');
        close $c->{sock};
    }

    # 3. ffmpeg publishing one id to both origins at once, a few rounds: one
    # publishes, the other is refused
    my $ff_ok = 0;
    for my $i (1 .. 4) {
        my %pid = map {
            $_ => publish('rtmp://127.0.0.1:' . $node{$_}->rtmp_port
                          . "/LiveApp/ff$i", seconds => 2, size => '320x240',
                          rate => 15, audio => 0,
                          log => "$dir/ff-$store.log")
        } qw(a b);
        my %rc = map { $_ => wait_publisher($pid{$_}, 30) } qw(a b);
        my $published = () = ($node{a}->error_log . $node{b}->error_log)
            =~ /ams rtmp: publish "LiveApp\/ff$i"/g;
        my $ok = grep { $rc{$_} == 0 } qw(a b);
        if ($published == 1 && $ok == 1) {
            $ff_ok++;
        } else {
            diag("ffmpeg round $i: published $published, exit a=$rc{a} b=$rc{b}");
        }
    }
    is($ff_ok, 4, 'ffmpeg to both origins at once: one publishes, one is refused');

    # 4, continued: once origin c's record is stale, b may take the id
    {
        my $wait = $orphan_updated + 15.5 - time;
        sleep $wait if $wait > 0;

        my $b = ready('b');
        send_publish($b, 'orphan');
        my ($code2) = answer($b);
        is($code2, 'NetStream.Publish.Start',
           'once stale (broadcast_stale_timeout), origin b may publish it');
        is(record('orphan', 'originAdress'), $addr{b}, 'the record is now b\'s');
        is(record('orphan', 'status'), 'broadcasting', 'and broadcasting');
        close $b->{sock};
    }

    is($node{a}->crashes . $node{b}->crashes, '', 'no crashes');

    $node{$_}->stop for qw(a b);
    $mongo->stop if $mongo;
}
