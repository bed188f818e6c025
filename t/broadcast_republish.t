# A stream republished right after its publisher left keeps its record.
# The end of the first publish (finish, then delete the zombi record) and
# the start of the second (upsert) run in the store's thread pools of
# possibly different workers, in any order.  Another writer holds the
# database while the first publisher goes and the second comes, and lets
# go right after the second publish: SQLite's busy handler polls a fresh
# waiter sooner than an old one, so the new publish's upsert mostly runs
# first, and the end that follows used to delete the live stream's
# record.  Each publish's end now touches only its own session's record.

use strict;
use warnings;

use Test::More;
use IO::Handle;
use Time::HiRes qw(time sleep);
use Ams::Nginx;
use Ams::Media;

system('sqlite3 -version >/dev/null 2>&1') == 0
    or plan skip_all => 'no sqlite3 tool';

my $ng = Ams::Nginx->new(workers => 2)->start;

my $db = $ng->prefix . '/data/ams.db';
my $rtmp = 'rtmp://127.0.0.1:' . $ng->rtmp_port . '/LiveApp';

sub stored {
    my $o = `sqlite3 -cmd '.timeout 5000' '$db' "SELECT json_extract(doc, '\$.status') FROM docs WHERE coll = 'broadcast' AND id = 'z1'"`;
    chomp $o;
    return $o;
}

sub publishes {
    my $n = () = $ng->error_log =~ /ams rtmp: publish "LiveApp\/z1"/g;
    return $n;
}

sub stop {
    my ($pid) = @_;
    kill 'KILL', $pid;
    waitpid $pid, 0;
}

for my $round (1 .. 4) {
    my $p1 = publish("$rtmp/z1", seconds => 60, size => '160x120');
    ok(poll_until(sub { stored() eq 'broadcasting' }, 20),
       "round $round: the first publish is broadcasting");
    sleep 1;

    # another writer holds the database: both publishes' writes wait
    open(my $lock, '|-', "sqlite3 -cmd '.timeout 5000' '$db'") or die "sqlite3: $!";
    $lock->autoflush(1);
    print $lock "BEGIN IMMEDIATE;\n";
    sleep 0.3;

    my $before = publishes();
    stop($p1);
    sleep 0.2;

    my $p2 = publish("$rtmp/z1", seconds => 60, size => '160x120');

    # within the store's busy_timeout (5 s)
    poll_until(sub { publishes() > $before }, 3);
    print $lock "COMMIT;\n";
    close $lock;

    # past both publishes' writes
    sleep 1;
    ok(poll_until(sub { stored() eq 'broadcasting' }, 3),
       "round $round: the live stream's record is broadcasting")
        or diag("record: '" . stored() . "'");

    # its own end still finishes and deletes it
    stop($p2);
    ok(poll_until(sub { stored() eq '' }, 10),
       "round $round: its end deletes the zombi record");
}

unlike($ng->error_log, qr/\[(alert|emerg|crit)\]/, 'no alerts');

$ng->stop;

done_testing;
