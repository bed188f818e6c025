# The store on MongoDB ("database mongodb://..."), against a MongoDB wire
# server (CongoDB, t/mongo/): the REST broadcast API does what it does on
# SQLite (create, read, update, list with search/sort/offset, count,
# delete, one-time tokens), records are documents with AMS's field names
# in the application's database, indexes are made at start; an RTMP
# publish makes its record broadcasting with this node's originAdress,
# then finished; a record a dead node left broadcasting reads
# terminated_unexpectedly, and a cold start ends this node's own; expired
# tokens are purged, DEAD cluster nodes expired; two origins racing for one stream id: exactly one
# wins; with the wire server down, store calls fail within seconds with a
# clear error while nginx goes on serving, and work again once it is back;
# a node starts while the server is down.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time sleep);
use JSON::PP ();
use Ams::Nginx;
use Ams::Media;
use Ams::Rest;
use Ams::Mongo;

my $why = Ams::Mongo::unavailable();
plan skip_all => $why if $why;

my $tool = ($ENV{AMS_UNIT} // '') . '/mongo_tool';
plan skip_all => "no $tool (./build.sh builds it)" unless -x $tool;

my $db = Ams::Mongo->new;
my $uri = $db->uri;
my $json = JSON::PP->new->canonical;

sub mongo {
    my (@args) = @_;
    open my $out, '-|', $tool, $uri, @args or die "$tool: $!";
    my @lines = <$out>;
    close $out;
    chomp @lines;
    return @lines;
}

sub docs {
    my ($dbname, $coll, $filter) = @_;
    return map { $json->decode($_) }
        mongo('find', $dbname, $coll, $filter ? $json->encode($filter) : ());
}

# a record planted as another node (or an earlier run) would have left it
sub plant {
    my ($dbname, $coll, $doc) = @_;
    mongo('insert', $dbname, $coll, $json->encode($doc));
}

my $now_ms = int(time * 1000);

# left by an earlier run of this node (127.0.0.11): one created through
# REST, one a publish made (zombi), and one of another node
plant('LiveApp', 'broadcast', { streamId => 'left', status => 'broadcasting',
      originAdress => '127.0.0.11', updateTime => $now_ms - 1000,
      zombi => JSON::PP::false, hlsViewerCount => 3 });
plant('LiveApp', 'broadcast', { streamId => 'leftz', status => 'broadcasting',
      originAdress => '127.0.0.11', updateTime => $now_ms - 1000,
      zombi => JSON::PP::true });
plant('LiveApp', 'broadcast', { streamId => 'other', status => 'broadcasting',
      originAdress => '127.0.0.12', updateTime => $now_ms + 3_600_000,
      zombi => JSON::PP::false });
# cluster nodes: one dead for an hour, one that reads as fresh for an hour
plant('clusterdb', 'clusternode', { id => 'ghost', ip => '127.0.0.14',
      role => 'origin', lastUpdateTime => $now_ms - 3_600_000 });
plant('clusterdb', 'clusternode', { id => 'future', ip => '127.0.0.15',
      role => 'edge', lastUpdateTime => $now_ms + 3_600_000 });
# a token that expired an hour ago
plant('LiveApp', 'token', { tokenId => 'old', streamId => 'x',
      expireDate => int(time) - 3600, type => 'play' });

my $ng = Ams::Nginx->new(
    workers => 2,
    modules => [qw(core ingest packager api cluster)],
    main_config => Ams::Nginx::default_ams(<<'EOF')
application LiveApp {
    delete_hls_files_on_ended  off;
    hls_time                   1s;
}
application Secure {
    publish_token_control_enabled  on;
}
EOF
        =~ s/ams \{/ams {\n    database  $uri;\n    node_address  127.0.0.11;
    node_role  origin;\n    node_update_period  1s;\n    node_dead_removal  1s;/r,
)->start;

my $api = '/LiveApp/rest/v2';
my ($st, $doc, $raw);

sub record {
    my ($id) = @_;
    my ($s, $d) = rest($ng, 'GET', "$api/broadcasts/$id");
    return $s == 200 ? $d : undef;
}

sub status_of { ((record(@_) // {})->{status}) // '' }

# the master's start: indexes, and this node's records ended
is_deeply([ sort(mongo('indexes', 'LiveApp', 'broadcast')) ],
          [ '_id_ unique', 'date_1', 'name_1', 'originAdress_1', 'status_1',
            'streamId_1 unique' ],
          'broadcast indexes made at start, streamId unique');
is_deeply([ sort(mongo('indexes', 'LiveApp', 'token')) ],
          [ '_id_ unique', 'expireDate_1', 'tokenId_1 unique' ],
          'token indexes too');
is_deeply([ sort(mongo('indexes', 'LiveApp', 'settings')) ],
          [ '_id_ unique', 'id_1 unique' ], 'settings\' too');
is_deeply([ sort(mongo('indexes', 'LiveApp', 'grouprelay')) ],
          [ '_id_ unique', 'id_1 unique' ], 'node groups\' relays\' too');
is_deeply([ sort(mongo('indexes', 'clusterdb', 'clusternode')) ],
          [ '_id_ unique', 'id_1 unique', 'lastUpdateTime_1' ],
          'and clusterdb.clusternode\'s');

($doc) = docs('LiveApp', 'broadcast', { streamId => 'left' });
is($doc->{status}, 'terminated_unexpectedly',
   'a cold start ends what this node left broadcasting');
is($doc->{hlsViewerCount}, 0, 'with no viewers');
is_deeply([ docs('LiveApp', 'broadcast', { streamId => 'leftz' }) ], [],
          'and deletes its zombi records');
is(status_of('other'), 'broadcasting', 'another node\'s stream stays live');
like($ng->error_log, qr/1 broadcasts left by a previous run marked/,
     'the start says so');

ok(poll_until(sub { !docs('LiveApp', 'token', { tokenId => 'old' }) }, 5),
   'an expired token is purged');

# this node's record in clusterdb, and EXPIRE of DEAD ones (the heartbeat
# runs it: node_dead_removal)
ok(poll_until(sub { docs('clusterdb', 'clusternode', { id => '127.0.0.11' })
              }, 5), 'this node registers in clusterdb.clusternode');
($doc) = docs('clusterdb', 'clusternode', { id => '127.0.0.11' });
is($doc->{role}, 'origin', 'as an origin');
ok(abs($doc->{lastUpdateTime} - time * 1000) < 10_000,
   'lastUpdateTime in ms');
ok(poll_until(sub { !docs('clusterdb', 'clusternode', { id => 'ghost' }) },
              10), 'a node DEAD for an hour is expired');
is(scalar(docs('clusterdb', 'clusternode', { id => 'future' })), 1,
   'one updated since is not');

# REST: create, read, update
($st, $doc) = rest($ng, 'POST', "$api/broadcasts/create",
                   body => { streamId => 'cam1', name => 'Front door' });
is($st, 200, 'create answers 200');
is($doc->{status}, 'created', 'status created');

($st, $doc, $raw) = rest($ng, 'POST', "$api/broadcasts/create",
                         body => { streamId => 'cam1' });
is($st, 400, 'an id taken: 400');
like($doc->{message} // '', qr/already being used/, 'says so');

($doc) = docs('LiveApp', 'broadcast', { streamId => 'cam1' });
is($doc->{name}, 'Front door', 'a document in database LiveApp');
is(scalar(grep { $_ eq 'cam1' } map { $_->{streamId} }
          docs('LiveApp', 'broadcast')), 1, 'one of it');
ok($doc->{date} > 1.7e12 && $doc->{updateTime} > 1.7e12,
   'AMS\'s fields, times in ms');

$doc = record('cam1');
is($doc->{name}, 'Front door', 'get reads it back');
ok(!exists $doc->{_id}, 'without MongoDB\'s _id');
is($doc->{date}, int $doc->{date}, 'numbers read back as integers');

($st, $doc) = rest($ng, 'PUT', "$api/broadcasts/cam1",
                   body => { name => 'Back door', description => 'porch' });
is($st, 200, 'update answers 200');
ok(poll_until(sub { (record('cam1') // {})->{name} eq 'Back door' }, 3),
   'the name changed');
is(record('cam1')->{description}, 'porch', 'and the description');
is(record('cam1')->{status}, 'created', 'the rest is left alone');

($st) = rest($ng, 'PUT', "$api/broadcasts/nosuch", body => { name => 'x' });
is($st, 404, 'an update of a missing record: 404');

# list, count
for my $i (1 .. 12) {
    ($st) = rest($ng, 'POST', "$api/broadcasts/create",
                 body => { streamId => sprintf('bulk%02d', $i),
                           name => sprintf('Bulk %02d', $i) });
}
is($st, 200, '12 more records');

ok(poll_until(sub {
    (rest($ng, 'GET', "$api/broadcasts/count"))[1]{number} == 15 }, 3),
   'count is 15');

# (the server's ObjectIds: records planted by another client, with ids
# of their own, order only by the second)
($st, $doc) = rest($ng, 'GET', "$api/broadcasts/list/0/4?search=u");
is_deeply([ map { $_->{streamId} } @$doc ],
          [ qw(bulk01 bulk02 bulk03 bulk04) ],
          'default order is creation order');

($st, $doc) = rest($ng, 'GET',
                   "$api/broadcasts/list/2/3?search=BULK&sort_by=name&order_by=desc");
is_deeply([ map { $_->{name} } @$doc ], [ 'Bulk 10', 'Bulk 09', 'Bulk 08' ],
          'search any case, sort_by=name desc, offset');

($st, $doc) = rest($ng, 'GET', "$api/broadcasts/list/0/50?search=k1");
is_deeply([ sort map { $_->{streamId} } @$doc ],
          [ qw(bulk10 bulk11 bulk12) ], 'search in ids');

($st, $doc) = rest($ng, 'GET', "$api/broadcasts/list/0/50?search=.*");
is_deeply($doc, [], 'search text is literal, not a pattern');

($st, $doc) = rest($ng, 'GET', "$api/broadcasts/list/0/2?sort_by=date");
is(scalar @$doc, 2, 'sort_by=date');

($st, $doc) = rest($ng, 'GET', "$api/broadcasts/list/100/10");
is_deeply($doc, [], 'an offset past the end lists nothing');

($st, $doc) = rest($ng, 'GET', "$api/broadcasts/active-live-stream-count");
is_deeply($doc, { number => 1 }, 'one live: the other node\'s');

# delete
($st) = rest($ng, 'DELETE', "$api/broadcasts/bulk01");
is($st, 200, 'delete answers 200');
ok(poll_until(sub { !record('bulk01') }, 3), 'the record is gone');
is_deeply([ docs('LiveApp', 'broadcast', { streamId => 'bulk01' }) ], [],
          'from MongoDB too');
($st) = rest($ng, 'DELETE', "$api/broadcasts/bulk01");
is($st, 404, 'deleting it again: 404');

# a node that died: its record reads terminated_unexpectedly
plant('LiveApp', 'broadcast', { streamId => 'dead', status => 'broadcasting',
      originAdress => '127.0.0.13', updateTime => int(time * 1000) - 60_000 });
is(status_of('dead'), 'terminated_unexpectedly',
   'a broadcasting record not refreshed for 60 s reads terminated');
($st, $doc) = rest($ng, 'GET', "$api/broadcasts/list/0/50?search=dead");
is($doc->[0]{status}, 'terminated_unexpectedly', 'in lists too');

# one-time tokens
my $exp = int(time) + 3600;
($st, $doc) = rest($ng, 'GET',
                   "$api/broadcasts/cam1/token?expireDate=$exp&type=publish");
is($st, 200, 'a token');
my $token = $doc->{tokenId};
($doc) = docs('LiveApp', 'token', { tokenId => $token });
is_deeply([ @{$doc // {}}{qw(streamId type expireDate)} ],
          [ 'cam1', 'publish', $exp ], 'stored in LiveApp.token');

# a one-time token admits one publish (TAKE: found and removed at once)
my $rtmp = 'rtmp://127.0.0.1:' . $ng->rtmp_port;
($st, $doc) = rest($ng, 'GET', '/Secure/rest/v2/broadcasts/sec/token'
                   . "?expireDate=$exp&type=publish");
$token = $doc->{tokenId};
my $pub = publish("$rtmp/Secure/sec?token=$token", seconds => 2,
                  size => '320x240', log => $ng->prefix . '/sec1.log');
is(wait_publisher($pub, 30), 0, 'a publish token admits a publish');
is_deeply([ docs('Secure', 'token', { tokenId => $token }) ], [],
          'and is gone from Secure.token');
$pub = publish("$rtmp/Secure/sec?token=$token", seconds => 2,
               size => '320x240', log => $ng->prefix . '/sec2.log');
isnt(wait_publisher($pub, 30), 0, 'the same token again is refused');
like($ng->error_log, qr/unknown or used token/, 'as used');

# a real publish: broadcasting with this node's address, then finished
$pub = publish("$rtmp/LiveApp/cam1", seconds => 6, size => '320x240',
                  log => $ng->prefix . '/pub.log');
ok(poll_until(sub { status_of('cam1') eq 'broadcasting' }, 15),
   'a publish makes the record broadcasting');
($doc) = docs('LiveApp', 'broadcast', { streamId => 'cam1' });
is($doc->{originAdress}, '127.0.0.11', 'with this node as originAdress');
is($doc->{publishType}, 'RTMP', 'publishType RTMP');
ok(poll_until(sub {
    (rest($ng, 'GET', "$api/broadcasts/active-live-stream-count"))[1]{number}
        == 2 }, 5), 'two live now');
is(wait_publisher($pub, 30), 0, 'the publisher finished');
ok(poll_until(sub { status_of('cam1') eq 'finished' }, 10),
   'its end makes the record finished');
ok(record('cam1')->{receivedBytes} > 10_000, 'with its figures');

# a zombi: published without a record, deleted at its end
$pub = publish("$rtmp/LiveApp/walkin", seconds => 3, size => '320x240',
               log => $ng->prefix . '/walkin.log');
ok(poll_until(sub { status_of('walkin') eq 'broadcasting' }, 15),
   'a publish without a record makes one');
is(wait_publisher($pub, 30), 0, 'that publisher finished');
ok(poll_until(sub { !docs('LiveApp', 'broadcast',
                          { streamId => 'walkin' }) }, 10),
   'its end deletes the zombi record');

# CLAIM: several origins race for the same ids
{
    my $at = int(time * 1000) + 1500;
    my @racers;
    for my $origin (qw(10.0.0.1 10.0.0.2 10.0.0.3 10.0.0.4)) {
        open my $fh, '-|', 'env', "AMS_AT_MS=$at", $tool, $uri, 'claim',
            'RaceApp', 'race', $origin, 100, 20000 or die;
        push @racers, [ $origin, $fh ];
    }
    my (%won, %busy);
    for my $r (@racers) {
        my $fh = $r->[1];
        while (<$fh>) {
            my ($id, $what) = split;
            push @{ ($what eq 'won' ? \%won : \%busy)->{$id} }, $r->[0];
        }
        close $fh;
    }
    is(scalar(keys %won), 100, 'four origins raced for 100 ids: all taken');
    is(scalar(grep { @{ $won{$_} } != 1 } keys %won), 0,
       'each by exactly one');
    is(scalar(grep { @{ $busy{$_} // [] } != 3 } keys %won), 0,
       'the three others told busy');
    my %holder = map { ($_->{streamId} => $_->{originAdress}) }
        docs('RaceApp', 'broadcast');
    is(scalar(keys %holder), 100, 'one document per id');
    is(scalar(grep { $holder{$_} ne $won{$_}[0] } keys %won), 0,
       'naming its winner');

    my ($r) = mongo('claim', 'RaceApp', 'race', '10.0.0.9', 1, 20000);
    is($r, 'race1 busy', 'a live id of another origin is busy');
    ($r) = mongo('claim', 'RaceApp', 'race', $won{race1}[0], 1, 20000);
    is($r, 'race1 won', 'its own origin claims it again');
    sleep 0.05;
    ($r) = mongo('claim', 'RaceApp', 'race', '10.0.0.9', 1, 10);
    is($r, 'race1 won', 'a stale one is free for another origin');
}

# the wire server goes down: fast, clear failures; nginx serves on
# (16 s: the outage and the checks around it take under 10 s)
my $live = publish("$rtmp/LiveApp/during", seconds => 16, size => '320x240',
                   log => $ng->prefix . '/during.log');
ok(poll_until(sub { -s $ng->media . '/LiveApp/streams/during.m3u8' }, 20),
   'a stream is live before the outage');
sleep 1.5;

$db->stop;
my $t = time;
($st, $doc) = rest($ng, 'GET', "$api/broadcasts/nosuch-during");
my $took = time - $t;
ok($st >= 500, "a read with the server down fails ($st)");
ok($took < 4, sprintf 'within %.1f s', $took);
($st) = rest($ng, 'POST', "$api/broadcasts/create",
             body => { streamId => 'during2' });
ok($st >= 500, "a create fails too ($st)");
my ($why_failed) = $ng->error_log =~ /ams store: mongodb unreachable: ([^;]+)/;
like($why_failed // '', qr/server|socket|connect|refused/i,
     'the log says why: ' . ($why_failed // 'nothing'));

my $m3u8 = $ng->media . '/LiveApp/streams/during.m3u8';
my $before = slurp($m3u8);
ok(poll_until(sub { (slurp($m3u8) // '') ne $before }, 5),
   'the live stream goes on being packaged');
($st, $doc) = rest($ng, 'GET', '/rest/v2/liveness');
is($st, 200, 'and REST that needs no store answers');

$db->start;
ok(poll_until(sub {
    (rest($ng, 'POST', "$api/broadcasts/create",
          body => { streamId => 'after' }))[0] == 200 }, 10),
   'once it is back (empty: it keeps nothing), creates work again');
# every store thread's client finds out for itself (a single-threaded
# libmongoc client waits out its own cooldown after a failed connection)
ok(poll_until(sub { (record('after') // {})->{streamId} }, 10),
   'and reads');
# each worker finds out at its next request (or heartbeat)
ok(poll_until(sub { rest($ng, 'GET', "$api/broadcasts/count");
                    $ng->error_log =~ /ams store: reachable again after/ },
              10), 'the log says it is back');

is(wait_publisher($live, 40), 0, 'the stream lived through the outage');

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

# a node starts while its MongoDB is down, and uses it once it is up
$ng->stop;
$db->stop;
$t = time;
my ($up, $out) = $ng->try_start;
ok($up, sprintf 'nginx starts with the server down (%.1f s)', time - $t)
    or diag $out;
like($ng->error_log, qr/ams store: mongodb unreachable at start: .*records left broadcasting end when they go stale/,
     'and says what it skipped');
$db->start;
ok(poll_until(sub {
    (rest($ng, 'POST', "$api/broadcasts/create",
          body => { streamId => 'late' }))[0] == 200 }, 15),
   'once the server is up, the store works');
is($ng->crashes, '', 'no crash in that run either');
$ng->stop;

# a URI the driver refuses is refused at configuration time
my $bad = Ams::Nginx->new(
    modules => [qw(core ingest packager api cluster)],
    main_config => Ams::Nginx::default_ams()
        =~ s/ams \{/ams {\n    database  mongodb:\/\/127.0.0.1:70000\/;/r);
my ($started, $complaint) = $bad->try_start;
ok(!$started, 'nginx does not start with a bad MongoDB URI');
like($complaint, qr/invalid MongoDB URI: Invalid host string/,
     'and says why');

# a DNS seed list is a scheme of its own: accepted (the lookup is at start)
my $srv = Ams::Nginx->new(
    modules => [qw(core ingest packager api cluster)],
    main_config => Ams::Nginx::default_ams()
        =~ s/ams \{/ams {\n    database  mongodb+srv:\/\/db.example.com\/?tls=true;/r);
open my $fh, '>', $srv->prefix . '/nginx.conf' or die;
print $fh $srv->render;
close $fh;
my $test = join ' ', map { quotemeta } $srv->nginx_cmd('-t');
my $said = `$test 2>&1`;
is($?, 0, 'a mongodb+srv:// URI passes nginx -t') or diag $said;

done_testing();
