# The store shared with other nodes: a cold start ends only this node's
# records (originAdress) and deletes its zombi ones, the
# broadcast_stale_timeout window decides when a record nobody refreshes
# stops being live, and a write made behind nginx's back (the sqlite3 tool
# here, another node on a shared store later) is seen by REST at once, not
# after the read cache expires.  The store and the packager run in their
# own thread pools.  The store does not grow without limit: expired
# one-time tokens are purged.  A full disk is reported as such.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time sleep);
use Ams::Nginx;
use Ams::Media;
use Ams::Rest;

system('sqlite3 -version >/dev/null 2>&1') == 0
    or plan skip_all => 'no sqlite3 tool';

my $ng = Ams::Nginx->new(workers => 2, main_config => <<'EOF')->start;
thread_pool  store threads=2;
thread_pool  pack threads=2;

ams {
    storage                  $MEDIA;
    database                 sqlite:data/ams.db;
    node_address             10.1.1.1;
    broadcast_stale_timeout  15s;
    thread_pool              ams;
    store_thread_pool        store;
    packager_thread_pool     pack;
    bus_zone_size            64m;
    cpu_limit                100;
    memory_limit             100;

    application LiveApp {
        delete_hls_files_on_ended  off;
    }
}
EOF

my $db = $ng->prefix . '/data/ams.db';
my $api = '/LiveApp/rest/v2';

ok(-s $db, 'sqlite:data/ams.db is under the prefix');

sub now_ms { int(time * 1000) }

sub sql {
    my ($sql) = @_;
    my $out = `sqlite3 -cmd '.timeout 5000' '$db' "$sql" 2>&1`;
    die "sqlite3: $out" if $?;
    return $out;
}

sub seed {
    my ($id, $origin, $age_ms, $zombi) = @_;
    my $t = now_ms() - $age_ms;
    my $z = $zombi ? 'true' : 'false';
    sql("INSERT INTO docs (coll, app, id, doc) VALUES ('broadcast',"
        . " 'LiveApp', '$id', json_object('streamId', '$id',"
        . " 'status', 'broadcasting', 'originAdress', '$origin',"
        . " 'updateTime', $t, 'hlsViewerCount', 2,"
        . " 'zombi', json('$z')))");
}

sub token {
    my ($id, $expire) = @_;
    sql("INSERT INTO docs (coll, app, id, doc) VALUES ('token', 'LiveApp',"
        . " '$id', json_object('tokenId', '$id', 'streamId', 'cam',"
        . " 'expireDate', $expire, 'type', 'play'))");
}

sub tokens {
    my $out = sql("SELECT id FROM docs WHERE coll = 'token' ORDER BY id");
    return [ split /\n/, $out ];
}

sub record {
    my ($id) = @_;
    my ($s, $d) = rest($ng, 'GET', "$api/broadcasts/$id");
    return $s == 200 ? $d : {};
}

sub status_of { record($_[0])->{status} // '' }

sub live_count {
    my ($s, $d) = rest($ng, 'GET', "$api/broadcasts/active-live-stream-count");
    return $d ? $d->{number} : -1;
}

# --- a cold start, with records of two nodes left "broadcasting" ---

$ng->stop;

seed('mine', '10.1.1.1', 1000);       # this node, left by a crash
seed('mine_zombi', '10.1.1.1', 1000, 1);   # the same, never created
seed('other_zombi', '10.2.2.2', 1000, 1);  # another node's, live
seed('other', '10.2.2.2', 1000);      # another node, live
seed('stale', '10.2.2.2', 16000);     # another node, gone 16 s ago
seed('edge', '10.2.2.2', 9000);       # another node, stale in 6 s

my $t0 = time;
$ng->start;

is(status_of('mine'), 'terminated_unexpectedly',
   "this node's record left broadcasting is ended by the cold start");
is(record('mine')->{hlsViewerCount}, 0, 'with no viewers left');
is(status_of('other'), 'broadcasting',
   "another node's live record survives it");
is(record('other')->{hlsViewerCount}, 2, 'with its viewers');
like($ng->error_log,
     qr/1 broadcasts left by a previous run marked terminated_unexpectedly \(originAdress 10\.1\.1\.1\)/,
     'the start says how many, and whose');
is(status_of('mine_zombi'), '',
   "this node's zombi record left broadcasting is deleted, as AMS does");
like($ng->error_log,
     qr/1 zombi broadcasts left by a previous run deleted \(originAdress 10\.1\.1\.1\)/,
     'the start says so');
is(status_of('other_zombi'), 'broadcasting',
   "another node's live zombi survives it");
sql("DELETE FROM docs WHERE id = 'other_zombi'");

# --- broadcast_stale_timeout 15s ---

is(status_of('stale'), 'terminated_unexpectedly',
   '16 s without a refresh reads terminated_unexpectedly (15 s window)');
SKIP: {
    skip 'the start took too long to see edge live', 1 if time - $t0 > 5;
    is(status_of('edge'), 'broadcasting', '9 s without a refresh is live');
}
ok(poll_until(sub { status_of('edge') eq 'terminated_unexpectedly' }, 15),
   'and reads terminated_unexpectedly once the window has passed');
diag(sprintf 'edge went stale %.1f s after its last refresh',
     time - $t0 + 9);
ok(poll_until(sub { live_count() == 1 }, 5),
   'the live count keeps only the fresh record');

# --- writes behind nginx's back ---

# read it into the caches of both workers first
record('other') for 1 .. 4;
sql("UPDATE docs SET doc = json_set(doc, '\$.name', 'renamed')"
    . " WHERE id = 'other'");
# SQLite's data_version tells the cache at once (the TTL alone would
# serve the old record for up to a second)
my @names = map { record('other')->{name} // '' } 1 .. 6;
is_deeply(\@names, [ ('renamed') x 6 ],
          'a record changed with the sqlite3 tool reads changed at once, '
          . 'in every worker');

my ($st, $list) = rest($ng, 'GET', "$api/broadcasts/list/0/50");
my $before = @$list;
live_count() for 1 .. 4;
seed('added', '10.2.2.2', 0);
($st, $list) = rest($ng, 'GET', "$api/broadcasts/list/0/50");
is(scalar @$list, $before + 1,
   'a record added with the sqlite3 tool is listed at once');
is(live_count(), 2, 'and counted live');

# --- expired one-time tokens are purged, by one worker, after a start ---

my $now = int(time);
token('expired1', $now - 3600);
token('expired2', $now - 1);
token('valid', $now + 3600);
is_deeply(tokens(), [qw(expired1 expired2 valid)], 'three tokens stored');
$ng->reload;
ok(poll_until(sub { join(',', @{ tokens() }) eq 'valid' }, 10),
   'the expired ones are purged soon after a reload; the valid one stays');
like($ng->error_log, qr/2 expired tokens purged/, 'with a log line');

# --- the packager in its own pool ---

($st) = rest($ng, 'POST', "$api/broadcasts/create",
             body => { streamId => 'cam' });
is($st, 200, 'cam created through REST (a zombi record would go)');
my $pub = publish('rtmp://127.0.0.1:' . $ng->rtmp_port . '/LiveApp/cam',
                  seconds => 4, size => '320x240');
my $m3u8 = $ng->media . '/LiveApp/streams/cam.m3u8';
ok(poll_until(sub { -s $m3u8 }, 15),
   'HLS is written by the packager_thread_pool');
ok(poll_until(sub { status_of('cam') eq 'broadcasting' }, 10),
   'its record by the store_thread_pool');
is(record('cam')->{originAdress}, '10.1.1.1', 'with our node_address');
is(wait_publisher($pub, 30), 0, 'the publisher finished');
ok(poll_until(sub { status_of('cam') eq 'finished' }, 10), 'then finished');

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

# --- a full disk: the log names the cause, not the failed ROLLBACK ---

my $mounted;
END { system("umount -l '$mounted' 2>/dev/null") if $mounted }

SKIP: {
    my $full = $ng->prefix . '/full';
    mkdir $full;
    skip 'a tmpfs mount needs root', 4 if $> != 0;
    skip 'cannot mount a tmpfs here', 4
        if system("mount -t tmpfs -o size=1m,mode=0777 tmpfs '$full'"
                  . ' 2>/dev/null') != 0;
    $mounted = $full;

    my $ng2 = Ams::Nginx->new(main_config => <<"EOF");
ams {
    storage        \$MEDIA;
    database       sqlite:$full/ams.db;
    thread_pool    ams;
    bus_zone_size  32m;
    cpu_limit      100;
    memory_limit   100;

    application LiveApp {}
}
EOF
    $ng2->start;

    ($st) = rest($ng2, 'POST', "$api/broadcasts/create",
                 body => { streamId => 'before' });
    is($st, 200, 'a record written while there is room');

    # fill the file system, leaving SQLite no room to grow its WAL
    system("dd if=/dev/zero of='$full/filler' bs=4k 2>/dev/null");
    my ($got, $raw);
    for my $i (1 .. 100) {
        ($got, undef, $raw) = rest($ng2, 'POST', "$api/broadcasts/create",
                                   body => { streamId => "full$i",
                                             description => 'x' x 600 });
        last if $got != 200;
    }
    is($got, 500, 'writes fail once the disk is full');
    my $log = $ng2->error_log;
    like($log, qr/ams store: sqlite broadcast\/full\d+: database or disk is full/,
         'the log names the cause');
    unlike($log, qr/no transaction is active/,
           "not the ROLLBACK's complaint");

    $ng2->stop;
    system("umount '$full'");
    $mounted = undef;
}

done_testing();
