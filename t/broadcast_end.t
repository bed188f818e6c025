# However a stream ends, its record says how, at once: a publishing
# worker killed with SIGKILL leaves its stream terminated_unexpectedly
# within a second (another worker notices), and a clean stop (SIGTERM as
# Ctrl-C sends, nginx -s quit with worker_shutdown_timeout) finishes it
# with its duration, as when the publisher leaves; it never reads as a
# crash.  A zombi record (no REST call made it) is deleted whichever way
# its stream ends, and the listener hook hears liveStreamEnded each time.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time sleep);
use Ams::Nginx;
use Ams::Media;
use Ams::Rest;
use Ams::Hook;

system('sqlite3 -version >/dev/null 2>&1') == 0
    or plan skip_all => 'no sqlite3 tool';
system('ss -V >/dev/null 2>&1') == 0
    or plan skip_all => 'no ss tool';

my $hook_file = File::Temp->new;
my $hook = Ams::Hook->new(file => "$hook_file");
my $hook_url = $hook->url;

my $ng = Ams::Nginx->new(workers => 2,
                         top_config => 'worker_shutdown_timeout 1s;',
                         applications => <<"EOF");
application LiveApp {
    listener_hook_url  $hook_url;
}
EOF
$ng->start;

my $api = '/LiveApp/rest/v2';
my $rtmp = 'rtmp://127.0.0.1:' . $ng->rtmp_port . '/LiveApp';
my $db = $ng->prefix . '/data/ams.db';

# the record as stored, read with the sqlite3 tool (nginx may be down)
sub stored {
    my ($id, $field) = @_;
    my $out = `sqlite3 -cmd '.timeout 5000' '$db' "SELECT
        json_extract(doc, '\$.$field') FROM docs WHERE coll = 'broadcast'
        AND id = '$id'" 2>&1`;
    chomp $out;
    return $out;
}

sub exists_stored {
    my ($id) = @_;
    my $out = `sqlite3 -cmd '.timeout 5000' '$db' "SELECT count(*) FROM docs
        WHERE coll = 'broadcast' AND id = '$id'" 2>&1`;
    return $out + 0;
}

sub create {
    my ($id) = @_;
    my ($st) = rest($ng, 'POST', "$api/broadcasts/create",
                    body => { streamId => $id });
    is($st, 200, "$id created through REST");
}

# the workers holding established RTMP connections
sub rtmp_workers {
    my $port = $ng->rtmp_port;
    my %pids = map { $_ => 1 }
        `ss -Htnp state established '( sport = :$port )'` =~ /pid=(\d+)/g;
    return sort keys %pids;
}

sub ended_hooks {
    my ($id) = @_;
    return grep { /^200 .*action=liveStreamEnded&id=\Q$id\E&/ }
        $hook->received;
}

# --- a publishing worker killed ---

create('died');
my $pub = publish("$rtmp/died", seconds => 60, size => '320x240',
                  log => $ng->prefix . '/died.log');
my $zpub = publish("$rtmp/diedz", seconds => 60, size => '320x240',
                   log => $ng->prefix . '/diedz.log');
ok(poll_until(sub { stored('died', 'status') eq 'broadcasting'
                    && stored('diedz', 'status') eq 'broadcasting' }, 15),
   'two streams live, one a zombi');

my @killed = rtmp_workers();
ok(@killed, "their workers: @killed");
kill 'KILL', @killed;
my $t0 = time;
ok(poll_until(sub { stored('died', 'status') eq 'terminated_unexpectedly' },
              10),
   'the record of a stream whose worker was killed reads '
   . 'terminated_unexpectedly');
my $took = time - $t0;
diag(sprintf 'marked %.2f s after the kill', $took);
ok($took < 2, 'within a second (and the poll, on a loaded machine)');
is(stored('died', 'hlsViewerCount'), 0, 'with no viewers');
ok(poll_until(sub { !exists_stored('diedz') }, 5),
   'the zombi record is deleted');
ok(poll_until(sub { ended_hooks('died') && ended_hooks('diedz') }, 10),
   'the hook heard liveStreamEnded for both');
wait_publisher($pub, 10);
wait_publisher($zpub, 10);

# --- a clean stop: SIGTERM, as Ctrl-C on ./build.sh run ---

sub two_live {
    my ($id) = @_;
    create($id);
    my @pubs = (publish("$rtmp/$id", seconds => 60, size => '320x240',
                        log => $ng->prefix . "/$id.log"),
                publish("$rtmp/${id}z", seconds => 60, size => '320x240',
                        log => $ng->prefix . "/${id}z.log"));
    ok(poll_until(sub { stored($id, 'status') eq 'broadcasting'
                        && stored("${id}z", 'status') eq 'broadcasting' },
                  15),
       "$id and ${id}z live");
    # a duration to see: the records say how long the streams lasted
    sleep 3;
    return @pubs;
}

sub finished_ok {
    my ($id, $how, @pubs) = @_;
    is(stored($id, 'status'), 'finished', "$how finishes the record");
    cmp_ok(stored($id, 'duration'), '>=', 2000,
           "with its duration (" . stored($id, 'duration') . ' ms)');
    ok(!exists_stored("${id}z"), 'and deletes the zombi one');
    ok(poll_until(sub { ended_hooks($id) }, 5),
       'the hook heard liveStreamEnded');
    wait_publisher($_, 10) for @pubs;
}

my @pubs = two_live('term');
$ng->stop;
finished_ok('term', 'SIGTERM', @pubs);

$ng->start;
is(stored('term', 'status'), 'finished',
   'the next start leaves it finished (no crash to mark)');

# --- nginx -s quit: worker_shutdown_timeout ends the publishers ---

@pubs = two_live('quit');
my @pids = ($ng->pid, $ng->worker_pids);
system(join(' ', map { quotemeta } $ng->nginx_cmd('-s', 'quit')));
ok(poll_until(sub { !grep { kill 0, $_ } @pids }, 10),
   'nginx -s quit ends within worker_shutdown_timeout, the publishers '
   . 'still sending');
$ng->{started} = 0;
finished_ok('quit', 'nginx -s quit', @pubs);

my @crashes = grep { !/exited on signal 9/ } split /\n/, $ng->crashes;
is("@crashes", '', 'no worker crashed but those killed');

done_testing();
