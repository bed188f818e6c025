# A publish makes its record "broadcasting" (in the list, with statistics
# and its resolution), its end makes it "finished", and the application's
# listener hook hears liveStreamStarted / liveStreamEnded with AMS's
# fields (streamName, category; retried when it fails).  A record no REST
# call created (a "zombi", as AMS calls it) is deleted when its stream
# ends, so the store does not keep one per name ever published.  Deleting
# a live broadcast stops its publisher.  After kill -9 of every nginx
# process and a restart no record is left "broadcasting" and zombi ones
# are gone.  acceptOnlyStreamsInDataStore refuses ids the store does not
# know.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time sleep);
use Ams::Nginx;
use Ams::Media;
use Ams::Rest;
use Ams::Hook;
use JSON::PP ();

my $hook_file = File::Temp->new;
my $hook = Ams::Hook->new(file => "$hook_file", fail_first => 1);
my $hook_url = $hook->url;

my $ng = Ams::Nginx->new(workers => 2, applications => <<"EOF2")->start;
application LiveApp {
    listener_hook_url  $hook_url;
}
application Closed {
    accept_only_streams_in_data_store  on;
}
EOF2

my $api = '/LiveApp/rest/v2';
my $rtmp = 'rtmp://127.0.0.1:' . $ng->rtmp_port;
my ($st, $doc);

sub record {
    my ($app, $id) = @_;
    my ($s, $d) = rest($ng, 'GET', "/$app/rest/v2/broadcasts/$id");
    return $s == 200 ? $d : undef;
}

sub status_of { ((record(@_) // {})->{status}) // '' }

# created through REST, with a name and a category for the hook
($st) = rest($ng, 'POST', "$api/broadcasts/create",
             body => { streamId => 'cam1', name => 'Camera One',
                       category => 'news & sport' });
is($st, 200, 'cam1 created through REST');
is(record('LiveApp', 'cam1')->{zombi}, JSON::PP::false(), 'not a zombi');

my $t0 = time;
my $pub = publish("$rtmp/LiveApp/cam1", seconds => 8, size => '640x360');

ok(poll_until(sub { status_of('LiveApp', 'cam1') eq 'broadcasting' }, 15),
   'a publish makes the record broadcasting');
diag(sprintf 'visible after %.0f ms (ffmpeg start included)',
     (time - $t0) * 1000);

$doc = record('LiveApp', 'cam1');
is($doc->{publishType}, 'RTMP', 'publishType RTMP');
ok($doc->{startTime} > 0, 'with a startTime');

($st, $doc) = rest($ng, 'GET', "$api/broadcasts/list/0/10");
is_deeply([ map { "$_->{streamId}:$_->{status}" } @$doc ],
          [ 'cam1:broadcasting' ], 'the list shows it live');

($st, $doc) = rest($ng, 'GET', "$api/broadcasts/active-live-stream-count");
is_deeply($doc, { number => 1 }, 'one active live stream');

($st, $doc) = rest($ng, 'GET', "$api/broadcasts/cam1/broadcast-statistics");
is_deeply($doc, { totalRTMPWatchersCount => 0, totalHLSWatchersCount => 0,
                  totalWebRTCWatchersCount => 0,
                  totalDASHWatchersCount => 0 },
          'its statistics: no viewers yet');

is(wait_publisher($pub, 30), 0, 'the publisher finished');

ok(poll_until(sub { status_of('LiveApp', 'cam1') eq 'finished' }, 10),
   'its end makes the record finished');
$doc = record('LiveApp', 'cam1');
ok($doc->{receivedBytes} > 100_000, "receivedBytes $doc->{receivedBytes}");
is("$doc->{width}x$doc->{height}", '640x360', 'the resolution');
ok($doc->{duration} >= 6000, "duration $doc->{duration} ms");

# the hook: form-encoded, as AMS sends it; the first try got a 500
ok(poll_until(sub {
    grep { /^200 .*action=liveStreamEnded&id=cam1&app=LiveApp/ }
        $hook->received }, 15),
   'the hook got liveStreamEnded');
my @got = $hook->received;
like($got[0], qr/^500 application\/x-www-form-urlencoded action=liveStreamStarted&id=cam1/,
     'liveStreamStarted came first and failed once');
like($got[1], qr/^200 .*action=liveStreamStarted&id=cam1/,
     'and was sent again');
my %form = map { my ($k, $v) = split /=/, $_, 2; $v =~ s/%(..)/chr hex $1/ge;
                 ($k => $v) }
           split /&/, (split / /, $got[1], 3)[2];
is($form{streamName}, 'Camera One', "streamName is the broadcast's name");
is($form{category}, 'news & sport', 'category is its category');
is($form{id}, 'cam1', 'id is the stream id');
ok(!exists $form{name}, 'no "name" field, which AMS does not send');

# a zombi: published without a record, deleted when it ends
$pub = publish("$rtmp/LiveApp/walkin", seconds => 3, size => '320x240');
ok(poll_until(sub { status_of('LiveApp', 'walkin') eq 'broadcasting' }, 15),
   'a publish without a record makes one');
is(record('LiveApp', 'walkin')->{zombi}, JSON::PP::true(), 'a zombi');
is(wait_publisher($pub, 30), 0, 'that publisher finished too');
ok(poll_until(sub { !record('LiveApp', 'walkin') }, 10),
   'its end deletes the zombi record');
ok(poll_until(sub {
    grep { /^200 .*action=liveStreamEnded&id=walkin&.*streamName=walkin/ }
        $hook->received }, 15),
   'the hook still got liveStreamEnded, named by the id');

# deleting a live broadcast stops it
my $log = $ng->prefix . '/deleted.log';
$pub = publish("$rtmp/LiveApp/gone", seconds => 30, size => '320x240',
               log => $log);
ok(poll_until(sub { status_of('LiveApp', 'gone') eq 'broadcasting' }, 15),
   'another one is live');
($st, $doc) = rest($ng, 'DELETE', "$api/broadcasts/gone");
is($st, 200, 'deleted through REST');
my $t = time;
isnt(wait_publisher($pub, 10), -1, 'its publisher was disconnected');
ok(time - $t < 5, 'at once');
like($ng->error_log, qr/"LiveApp\/gone" stopped: its broadcast was deleted/,
     'with a log line');

# acceptOnlyStreamsInDataStore
$log = $ng->prefix . '/closed.log';
$pub = publish("$rtmp/Closed/unknown", seconds => 3, size => '320x240',
               log => $log);
isnt(wait_publisher($pub, 20), 0, 'an unknown id cannot publish');
like($ng->error_log, qr/no such broadcast \(accept_only_streams_in_data_store\)/,
     'the log says why');
is(record('Closed', 'unknown'), undef, 'and no record appears');

($st) = rest($ng, 'POST', '/Closed/rest/v2/broadcasts/create',
             body => { streamId => 'known' });
is($st, 200, 'a record created first');
$pub = publish("$rtmp/Closed/known", seconds => 3, size => '320x240');
ok(poll_until(sub { status_of('Closed', 'known') eq 'broadcasting' }, 15),
   'lets that id publish');
is(wait_publisher($pub, 20), 0, 'to the end');

# a crash: kill -9 every nginx process while two streams are live, one
# created through REST, one a zombi
($st) = rest($ng, 'POST', "$api/broadcasts/create",
             body => { streamId => 'crash' });
is($st, 200, 'a record created for the crash');
$pub = publish("$rtmp/LiveApp/crash", seconds => 60, size => '320x240',
              log => $ng->prefix . '/crash.log');
my $zpub = publish("$rtmp/LiveApp/crashz", seconds => 60, size => '320x240',
                   log => $ng->prefix . '/crashz.log');
ok(poll_until(sub { status_of('LiveApp', 'crash') eq 'broadcasting'
                    && status_of('LiveApp', 'crashz') eq 'broadcasting' },
              15),
   'both streams are live');
my @pids = ($ng->pid, $ng->worker_pids);
kill 'KILL', @pids;
ok(poll_until(sub { !grep { kill 0, $_ } @pids }, 10), 'nginx is gone');
wait_publisher($pub, 10);
wait_publisher($zpub, 10);
unlink $ng->prefix . '/nginx.pid';
$ng->{started} = 0;
$ng->start;

$doc = record('LiveApp', 'crash');
is($doc->{status}, 'terminated_unexpectedly',
   'after the restart the record is not left broadcasting');
($st, $doc) = rest($ng, 'GET', "$api/broadcasts/active-live-stream-count");
is_deeply($doc, { number => 0 }, 'no active live streams');
like($ng->error_log, qr/1 broadcasts left by a previous run marked/,
     'the start says so');

is($ng->crashes, '', 'no worker crashed or tripped a sanitizer');

done_testing();
